#!/bin/sh
# Start the demo directory: a certificate for "ldap" (made once, in /certs, which Parley mounts to
# verify it), slapd.conf from the test fixture's template, the fixture LDIF loaded once, then slapd
# in the foreground. The paths can be changed with environment variables (to try it outside Docker).
set -eu
FIXTURES="${FIXTURES:-/fixtures}"
DATA="${DATA:-/var/lib/parley-ldap}"
CERTS="${CERTS:-/certs}"
RUN="${RUN:-/run/parley-ldap}"
SCHEMA_DIR="${SCHEMA_DIR:-/etc/ldap/schema}"
MODULE_DIR="${MODULE_DIR:-/usr/lib/ldap}"
LISTEN="${LISTEN:-ldap:/// ldaps:///}"

mkdir -p "$DATA/example" "$DATA/corp" "$RUN" "$CERTS"

if [ ! -f "$CERTS/ldap.pem" ]; then
  echo "parley-ldap: generating a self-signed certificate for ldap, localhost, 127.0.0.1"
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=ldap" \
    -addext "subjectAltName=DNS:ldap,DNS:localhost,IP:127.0.0.1" \
    -keyout "$CERTS/ldap-key.pem" -out "$CERTS/ldap.pem" 2>/dev/null
  chmod 644 "$CERTS/ldap.pem"
  chmod 600 "$CERTS/ldap-key.pem"
fi

sed -e "s#@SCHEMA_DIR@#$SCHEMA_DIR#g" \
    -e "s#@FIXTURE_DIR@#$FIXTURES#g" \
    -e "s#@MODULE_DIR@#$MODULE_DIR#g" \
    -e "s#@RUN_DIR@#$RUN#g" \
    -e "s#@DATA_DIR@#$DATA#g" \
    -e "s#@CERT_FILE@#$CERTS/ldap.pem#g" \
    -e "s#@KEY_FILE@#$CERTS/ldap-key.pem#g" \
    "$FIXTURES/slapd.conf" > "$RUN/slapd.conf"

if [ ! -f "$DATA/loaded" ]; then
  echo "parley-ldap: loading the demo directory"
  slapadd -f "$RUN/slapd.conf" -b dc=example,dc=com -l "$FIXTURES/openldap-layout.ldif"
  slapadd -f "$RUN/slapd.conf" -b dc=corp,dc=example -l "$FIXTURES/ad-layout.ldif"
  touch "$DATA/loaded"
fi

echo "parley-ldap: slapd listening on $LISTEN"
exec slapd -f "$RUN/slapd.conf" -h "$LISTEN" -d "${SLAPD_DEBUG:-0}"
