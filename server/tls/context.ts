/**
 * TLS server options for Parley's listeners: one secure context per hosted
 * domain, chosen by SNI (RFC 6066 §3), with TLS 1.2 as the floor (RFC 7590
 * §3.1 recommends TLS 1.2 or later for XMPP).
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { domainToASCII } from 'node:url';

export interface DomainCertificate {
  domain: string;
  certPem: string;
  keyPem: string;
}

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

export interface TlsContexts {
  /** Context of the first certificate, used when SNI names nothing we host. */
  defaultContext: tls.SecureContext;
  /**
   * Options for tls.createServer / new tls.TLSSocket: minVersion, the default
   * certificate and key, an SNICallback and ALPNProtocols ['xmpp-client'] for
   * XEP-0368 direct TLS. A server-to-server listener should override
   * ALPNProtocols (['xmpp-server']), since Node refuses a client whose ALPN
   * offer does not include one of the configured protocols.
   */
  secureOptions: tls.TlsOptions;
}

const ALLOWED_MIN_VERSIONS: readonly TlsMinVersion[] = ['TLSv1.2', 'TLSv1.3'];

/** Builds the secure contexts and server options for a set of domain certificates. */
export function createTlsContexts(
  certs: DomainCertificate[],
  opts: { minVersion?: TlsMinVersion } = {},
): TlsContexts {
  if (certs.length === 0) throw new Error('createTlsContexts: at least one certificate is required');
  const minVersion = opts.minVersion ?? 'TLSv1.2';
  // The type already forbids older versions; this guards untyped configuration.
  if (!ALLOWED_MIN_VERSIONS.includes(minVersion)) {
    throw new Error(`createTlsContexts: minVersion must be TLSv1.2 or TLSv1.3, got ${String(minVersion)}`);
  }

  const entries = certs.map((c) => ({
    name: normaliseServername(c.domain),
    x509: new X509Certificate(c.certPem),
    context: tls.createSecureContext({ cert: c.certPem, key: c.keyPem, minVersion }),
  }));
  const first = certs[0]!;
  const defaultContext = entries[0]!.context;
  const select = contextSelector(entries, defaultContext);

  const secureOptions: tls.TlsOptions = {
    minVersion,
    cert: first.certPem,
    key: first.keyPem,
    ALPNProtocols: ['xmpp-client'],
    SNICallback: (servername, callback) => callback(null, select(servername)),
    // STARTTLS wraps sockets with new tls.TLSSocket(..., options): without a ready context Node
    // builds a new SecureContext per connection (a third of login CPU, ~25 KiB per connection).
    secureContext: defaultContext,
  } as tls.TlsOptions;
  return { defaultContext, secureOptions };
}

interface ContextEntry {
  name: string;
  x509: X509Certificate;
  context: tls.SecureContext;
}

/**
 * Picks the context for an SNI name: the certificate configured for exactly
 * that domain, else the first certificate whose subjectAltName covers it
 * (e.g. conference.example.com under a SAN or wildcard of example.com's
 * certificate), else the default. Results are memoised per name, bounded.
 */
function contextSelector(entries: ContextEntry[], fallback: tls.SecureContext): (servername: string) => tls.SecureContext {
  const exact = new Map<string, tls.SecureContext>();
  for (const entry of entries) if (!exact.has(entry.name)) exact.set(entry.name, entry.context);
  const memo = new Map<string, tls.SecureContext>();
  return (servername) => {
    const name = normaliseServername(servername);
    const known = exact.get(name) ?? memo.get(name);
    if (known !== undefined) return known;
    // checkHost applies RFC 6125 matching (SAN dNSName, wildcards) natively.
    const covering = entries.find((entry) => entry.x509.checkHost(name) !== undefined);
    const context = covering?.context ?? fallback;
    if (memo.size >= 1000) memo.clear(); // SNI names come from untrusted clients
    memo.set(name, context);
    return context;
  };
}

/** SNI carries A-labels without a trailing dot (RFC 6066 §3); compare in that form. */
function normaliseServername(name: string): string {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  return domainToASCII(trimmed) || trimmed.toLowerCase();
}

/**
 * Reads a certificate (or chain, leaf first) and its private key, checking
 * that both parse and that the key belongs to the certificate. Errors name
 * the file and the problem; key material never appears in them.
 */
export async function loadCertificatePair(certFile: string, keyFile: string): Promise<{ certPem: string; keyPem: string }> {
  const certPem = await readText(certFile);
  const keyPem = await readText(keyFile);
  const x509 = parseCertificate(certFile, certPem);
  const key = parsePrivateKey(keyFile, keyPem);
  if (!x509.checkPrivateKey(key)) throw new Error(`key ${keyFile} does not match certificate ${certFile}`);
  return { certPem, keyPem };
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    throw new Error(`${file}: cannot read (${code})`);
  }
}

function parseCertificate(file: string, pem: string): X509Certificate {
  // X509Certificate would also accept DER; a TLS context needs PEM.
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${file}: not a PEM certificate`);
  try {
    return new X509Certificate(pem);
  } catch {
    throw new Error(`${file}: not a PEM certificate`);
  }
}

function parsePrivateKey(file: string, pem: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new Error(`${file}: not a PEM private key`);
  // PKCS#8 "ENCRYPTED PRIVATE KEY" or a legacy "Proc-Type: 4,ENCRYPTED" header.
  if (pem.includes('ENCRYPTED')) {
    throw new Error(`${file}: encrypted private keys are not supported`);
  }
  try {
    return createPrivateKey(pem);
  } catch {
    throw new Error(`${file}: not a PEM private key`);
  }
}
