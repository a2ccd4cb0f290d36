/**
 * Certificates for Parley's TLS listeners: self-signed certificates for a
 * first start, certificate signing requests for the company CA, and a short
 * description of a certificate for the CLI and the logs.
 *
 * Keys are generated natively with node:crypto (fast); node-forge builds and
 * signs the X.509 structures. Private keys are returned to the caller and
 * written to disk with mode 0600, never logged.
 */
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { domainToASCII } from 'node:url';
import forge from 'node-forge';

const { asn1, pki } = forge;

/** RFC 6120 §13.7.1.4: id-on-xmppAddr, an otherName carrying a JID as UTF8String. */
export const ID_ON_XMPP_ADDR = '1.3.6.1.5.5.7.8.5';

export interface KeyAndCertificate {
  certPem: string;
  keyPem: string;
}

export interface SelfSignedOptions {
  /** Names the certificate is for; the first one becomes the subject CN. */
  domains: string[];
  /** Validity in days, counted from now (default 365). */
  days?: number;
  /** RSA modulus length (default 2048). */
  keyBits?: number;
}

/** Creates an RSA key and a self-signed server certificate for `domains`. */
export function generateSelfSigned(opts: SelfSignedOptions): KeyAndCertificate {
  const domains = checkDomains(opts.domains);
  const days = opts.days ?? 365;
  if (!Number.isFinite(days) || days <= 0) throw new Error(`generateSelfSigned: days must be positive, got ${days}`);
  const { keyPem, forgeKey } = newRsaKey(opts.keyBits ?? 2048);

  const cert = pki.createCertificate();
  cert.publicKey = pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  cert.serialNumber = randomSerialNumber();
  const now = Date.now();
  // An hour of slack so that peers whose clocks run a little behind do not
  // reject a certificate generated moments ago.
  cert.validity.notBefore = new Date(now - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(now + days * 24 * 60 * 60 * 1000);
  const subject = [dnAttribute('commonName', toAsciiName(domains[0]!)), dnAttribute('organizationName', 'Parley self-signed')];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    // RFC 5280 §4.2.1.3: conforming CAs SHOULD mark keyUsage critical.
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    // clientAuth as well: XMPP servers present the same certificate when they
    // connect to other servers (RFC 6120 §13.7.1.1).
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    subjectAltNameExtension(domains),
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forgeKey, forge.md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem };
}

export interface CsrOptions {
  /** Names to request; the first one becomes the subject CN. */
  domains: string[];
  /** An existing RSA private key (PEM); a new 2048-bit key is made if absent. */
  keyPem?: string;
  organization?: string;
  /** ISO 3166 two-letter country code. */
  country?: string;
}

/** Creates a PKCS#10 request carrying a subjectAltName extension request for all domains. */
export function generateCsr(opts: CsrOptions): { csrPem: string; keyPem: string } {
  const domains = checkDomains(opts.domains);
  const { keyPem, forgeKey } = opts.keyPem === undefined ? newRsaKey(2048) : importRsaKey(opts.keyPem);

  const csr = pki.createCertificationRequest();
  csr.publicKey = pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  const subject = [dnAttribute('commonName', toAsciiName(domains[0]!))];
  if (opts.organization !== undefined) subject.push(dnAttribute('organizationName', opts.organization));
  if (opts.country !== undefined) {
    // RFC 5280 Appendix A: countryName is a two-letter PrintableString.
    if (!/^[A-Za-z]{2}$/.test(opts.country)) throw new Error(`generateCsr: country must be a two-letter code, got ${JSON.stringify(opts.country)}`);
    subject.push({ name: 'countryName', value: opts.country.toUpperCase() });
  }
  csr.setSubject(subject);
  // PKCS#9 extensionRequest (RFC 2986 §4.1): the CA copies these extensions.
  csr.setAttributes([{ name: 'extensionRequest', extensions: [subjectAltNameExtension(domains)] }]);
  csr.sign(forgeKey, forge.md.sha256.create());
  return { csrPem: pki.certificationRequestToPem(csr), keyPem };
}

/**
 * Returns `<dir>/<domain>.crt` and `<dir>/<domain>.key`, generating a
 * self-signed pair on first use. If only one of the two files exists it is
 * left alone and an error is thrown: it may be a CA-issued certificate whose
 * key was misplaced, and overwriting it would lose it.
 */
export async function ensureCertificate(
  dir: string,
  domain: string,
): Promise<{ certFile: string; keyFile: string; generated: boolean }> {
  checkFileSafeDomain(domain);
  const certFile = join(dir, `${domain}.crt`);
  const keyFile = join(dir, `${domain}.key`);
  const [haveCert, haveKey] = await Promise.all([fileExists(certFile), fileExists(keyFile)]);
  if (haveCert && haveKey) return { certFile, keyFile, generated: false };
  if (haveCert !== haveKey) {
    const [present, missing] = haveCert ? [certFile, keyFile] : [keyFile, certFile];
    throw new Error(`${present} exists but ${missing} is missing; refusing to overwrite it with a self-signed pair`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { certPem, keyPem } = generateSelfSigned({ domains: [domain] });
  // 'wx' fails instead of overwriting if another process won the race.
  await writeFile(keyFile, keyPem, { mode: 0o600, flag: 'wx' });
  await writeFile(certFile, certPem, { mode: 0o644, flag: 'wx' });
  return { certFile, keyFile, generated: true };
}

export interface CertificateDescription {
  /** Subject distinguished name, e.g. "CN=example.com, O=Parley self-signed". */
  subject: string;
  /** DNS names, IP addresses and XMPP addresses from subjectAltName. */
  altNames: string[];
  notBefore: Date;
  notAfter: Date;
  /** Issued by its own subject and signed by its own key. */
  selfSigned: boolean;
}

/** Summarises the first certificate of a PEM file (the leaf of a chain). */
export function describeCertificate(certPem: string): CertificateDescription {
  const x509 = new X509Certificate(certPem);
  return {
    subject: x509.subject.split('\n').join(', '),
    altNames: parseSubjectAltName(x509.subjectAltName),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    // X509Certificate.checkIssued also insists on keyCertSign, which server
    // certificates lack, so compare the names and check the signature instead.
    selfSigned: x509.subject === x509.issuer && x509.verify(x509.publicKey),
  };
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function checkDomains(domains: string[]): string[] {
  if (!Array.isArray(domains) || domains.length === 0) throw new Error('at least one domain is required');
  for (const domain of domains) {
    if (typeof domain !== 'string' || domain === '' || /[\s/@\\]/.test(domain)) {
      throw new Error(`not a domain name: ${JSON.stringify(domain)}`);
    }
  }
  return domains;
}

/** The domain must be usable as a file name inside `dir`. */
function checkFileSafeDomain(domain: string): void {
  if (!/^[\p{L}\p{M}\p{N}.:\[\]-]+$/u.test(domain) || domain.startsWith('.') || domain.includes('..')) {
    throw new Error(`not a domain name usable as a certificate file name: ${JSON.stringify(domain)}`);
  }
}

async function fileExists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function newRsaKey(bits: number): { keyPem: string; forgeKey: forge.pki.rsa.PrivateKey } {
  if (!Number.isInteger(bits) || bits < 2048) throw new Error(`RSA keys must have at least 2048 bits, got ${bits}`);
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { keyPem: privateKey, forgeKey: pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey };
}

/** Accepts any PEM encoding node:crypto understands; node-forge can only sign with RSA. */
function importRsaKey(keyPem: string): { keyPem: string; forgeKey: forge.pki.rsa.PrivateKey } {
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType !== 'rsa') {
    throw new Error(`only RSA keys can be used for a CSR, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  const pkcs8 = key.export({ type: 'pkcs8', format: 'pem' }) as string;
  return { keyPem, forgeKey: pki.privateKeyFromPem(pkcs8) as forge.pki.rsa.PrivateKey };
}

/** RFC 5280 §4.1.2.2: a positive integer of at most 20 octets; 16 random bytes. */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  // Clear the sign bit so the INTEGER is positive, and keep the first byte
  // non-zero so its DER encoding is minimal.
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes.toString('hex');
}

/** Certificates carry DNS names in their ASCII (A-label) form (RFC 5280 §7.2). */
function toAsciiName(domain: string): string {
  if (isIP(domain) !== 0) return domain;
  const ascii = domainToASCII(domain);
  if (ascii === '') throw new Error(`not a valid domain name: ${JSON.stringify(domain)}`);
  return ascii;
}

/**
 * Directory string attributes are UTF8String (RFC 5280 §4.1.2.4). The
 * @types/node-forge declaration types valueTagClass as a tag class although
 * node-forge reads it as the universal type number, hence the cast.
 */
function dnAttribute(name: string, value: string): forge.pki.CertificateField {
  return { name, value, valueTagClass: asn1.Type.UTF8 as unknown as forge.asn1.Class };
}

/**
 * subjectAltName with a dNSName (or iPAddress) per domain and, for XMPP, an
 * id-on-xmppAddr otherName per domain (RFC 6120 §13.7.1.4).
 *
 * node-forge's own altNames support encodes every GeneralName as a primitive
 * context tag, which is wrong for otherName (a constructed [0]), so the
 * extension value is built here as ASN.1 and handed to node-forge ready-made.
 */
function subjectAltNameExtension(domains: string[]): { name: string; value: forge.asn1.Asn1 } {
  const names: forge.asn1.Asn1[] = [];
  for (const domain of domains) {
    names.push(isIP(domain) !== 0 ? ipAddressName(domain) : dnsName(toAsciiName(domain)));
  }
  for (const domain of domains) {
    // A JID domainpart is never an IP address or a wildcard.
    if (isIP(domain) === 0 && !domain.startsWith('*.')) names.push(xmppAddrName(domain));
  }
  return { name: 'subjectAltName', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, names) };
}

/** GeneralName dNSName: [2] IMPLICIT IA5String. */
function dnsName(asciiDomain: string): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.CONTEXT_SPECIFIC, 2, false, asciiDomain);
}

/** node-forge has util.bytesFromIP, but @types/node-forge does not declare it. */
const forgeIpUtil = forge.util as unknown as { bytesFromIP(ip: string): string | null };

/** GeneralName iPAddress: [7] IMPLICIT OCTET STRING. */
function ipAddressName(ip: string): forge.asn1.Asn1 {
  const bytes = forgeIpUtil.bytesFromIP(ip);
  if (bytes === null) throw new Error(`not an IP address: ${ip}`);
  return asn1.create(asn1.Class.CONTEXT_SPECIFIC, 7, false, bytes);
}

/**
 * GeneralName otherName: [0] IMPLICIT SEQUENCE { type-id OID, value [0]
 * EXPLICIT ANY }, here id-on-xmppAddr with the domain as a UTF8String in its
 * Unicode form, as a JID domainpart is written (RFC 7622 §3.2).
 */
function xmppAddrName(domain: string): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(ID_ON_XMPP_ADDR).getBytes()),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTF8, false, forge.util.encodeUtf8(domain)),
    ]),
  ]);
}

/**
 * Node renders subjectAltName as "DNS:a, IP Address:1.2.3.4, othername:...";
 * values containing ", " are JSON-quoted (Node 17.3.1+). Keep the DNS names,
 * IP addresses and XMPP addresses, without duplicates.
 */
function parseSubjectAltName(san: string | undefined): string[] {
  if (san === undefined || san === '') return [];
  const names = new Set<string>();
  for (const entry of splitSanEntries(san)) {
    const colon = entry.indexOf(':');
    const kind = entry.slice(0, colon);
    let value = entry.slice(colon + 1);
    if (value.startsWith('"')) value = JSON.parse(value) as string;
    if (kind === 'DNS' || kind === 'IP Address') names.add(value);
    else if (kind === 'othername' && value.startsWith('XmppAddr:')) names.add(value.slice('XmppAddr:'.length));
  }
  return [...names];
}

function splitSanEntries(san: string): string[] {
  const entries: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < san.length; i++) {
    const ch = san[i]!;
    if (ch === '"' && san[i - 1] !== '\\') quoted = !quoted;
    if (!quoted && ch === ',' && san[i + 1] === ' ') {
      entries.push(current);
      current = '';
      i++;
      continue;
    }
    current += ch;
  }
  if (current !== '') entries.push(current);
  return entries;
}
