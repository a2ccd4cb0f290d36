import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import forge from 'node-forge';
import { describeCertificate, ensureCertificate, generateCsr, generateSelfSigned } from './certificates.js';
import { createTlsContexts, loadCertificatePair, type TlsMinVersion } from './context.js';

const exampleCom = generateSelfSigned({ domains: ['example.com', 'conference.example.com'] });
const exampleNet = generateSelfSigned({ domains: ['example.net'] });

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-tls-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('generateSelfSigned', () => {
  const x509 = new X509Certificate(exampleCom.certPem);

  test('it produces a certificate that node:crypto parses', () => {
    assert.match(x509.subject, /^CN=example\.com\nO=Parley self-signed$/);
  });

  test('it lists every domain as a dNSName in subjectAltName', () => {
    assert.match(x509.subjectAltName ?? '', /DNS:example\.com, DNS:conference\.example\.com/);
  });

  test('it adds an id-on-xmppAddr otherName for every domain', () => {
    assert.match(x509.subjectAltName ?? '', /othername:XmppAddr:example\.com, othername:XmppAddr:conference\.example\.com/);
  });

  test('it is valid now, from an hour ago', () => {
    const now = Date.now();
    const from = Date.parse(x509.validFrom);
    assert.ok(from <= now - 59 * 60 * 1000 && from >= now - 61 * 60 * 1000, `validFrom ${x509.validFrom}`);
    assert.ok(Date.parse(x509.validTo) > now);
  });

  test('it honours the days option', () => {
    const { certPem } = generateSelfSigned({ domains: ['short.example'], days: 30 });
    const days = (Date.parse(new X509Certificate(certPem).validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `valid for ${days} days`);
  });

  test('it matches its private key', () => {
    assert.equal(x509.checkPrivateKey(createPrivateKey(exampleCom.keyPem)), true);
  });

  test('it is an end-entity certificate for server and client authentication', () => {
    assert.equal(x509.ca, false);
    assert.deepEqual(x509.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  });

  test('it uses a positive 16-byte serial number', () => {
    assert.match(x509.serialNumber, /^[0-7][0-9A-F]{31}$/);
  });

  test('it writes internationalised domains as A-labels in dNSName', () => {
    const { certPem } = generateSelfSigned({ domains: ['b\u00fccher.example'] });
    assert.match(new X509Certificate(certPem).subjectAltName ?? '', /DNS:xn--bcher-kva\.example/);
  });

  test('it refuses an empty domain list', () => {
    assert.throws(() => generateSelfSigned({ domains: [] }), /at least one domain/);
  });
});

describe('describeCertificate', () => {
  test('it summarises a self-signed certificate', () => {
    const description = describeCertificate(exampleCom.certPem);
    assert.deepEqual(
      { subject: description.subject, altNames: description.altNames, selfSigned: description.selfSigned },
      { subject: 'CN=example.com, O=Parley self-signed', altNames: ['example.com', 'conference.example.com'], selfSigned: true },
    );
    assert.ok(description.notBefore < new Date() && description.notAfter > new Date());
  });
});

describe('generateCsr', () => {
  test('it produces a signed PKCS#10 request that node-forge parses', () => {
    const { csrPem } = generateCsr({ domains: ['example.com'], organization: 'Example Corp', country: 'fr' });
    const csr = forge.pki.certificationRequestFromPem(csrPem);
    assert.equal(csr.verify(), true);
    assert.deepEqual(
      csr.subject.attributes.map((a) => [a.shortName, a.value]),
      [['CN', 'example.com'], ['O', 'Example Corp'], ['C', 'FR']],
    );
  });

  test('it requests a subjectAltName for every domain', () => {
    const { csrPem } = generateCsr({ domains: ['example.com', 'upload.example.com'] });
    const csr = forge.pki.certificationRequestFromPem(csrPem);
    const request = csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: Array<{ name: string; altNames?: Array<{ type: number; value: unknown }> }> } | null;
    const san = request?.extensions?.find((e) => e.name === 'subjectAltName');
    const dnsNames = san?.altNames?.filter((n) => n.type === 2).map((n) => n.value);
    assert.deepEqual(dnsNames, ['example.com', 'upload.example.com']);
  });

  test('it uses the key it is given', () => {
    const { keyPem: given } = generateSelfSigned({ domains: ['example.com'] });
    const { csrPem, keyPem } = generateCsr({ domains: ['example.com'], keyPem: given });
    const csrKey = forge.pki.certificationRequestFromPem(csrPem).publicKey as forge.pki.rsa.PublicKey;
    const ownKey = forge.pki.privateKeyFromPem(given) as forge.pki.rsa.PrivateKey;
    assert.equal(keyPem, given);
    assert.equal(csrKey.n.toString(16), ownKey.n.toString(16));
  });

  test('it refuses a key node-forge cannot sign with', () => {
    const { privateKey } = generateKeyPairSync('ed25519', { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    assert.throws(() => generateCsr({ domains: ['example.com'], keyPem: privateKey }), /only RSA keys/);
  });
});

describe('ensureCertificate', () => {
  test('it creates a certificate and key once and reuses them afterwards', async () => {
    await withTempDir(async (dir) => {
      const certsDir = join(dir, 'certs');
      const first = await ensureCertificate(certsDir, 'example.org');
      const firstCert = await readFile(first.certFile, 'utf8');
      const second = await ensureCertificate(certsDir, 'example.org');
      assert.deepEqual([first.generated, second.generated], [true, false]);
      assert.deepEqual([second.certFile, second.keyFile], [join(certsDir, 'example.org.crt'), join(certsDir, 'example.org.key')]);
      assert.equal(await readFile(second.certFile, 'utf8'), firstCert);
    });
  });

  test('it writes the key readable by the owner only', async () => {
    await withTempDir(async (dir) => {
      const { keyFile } = await ensureCertificate(dir, 'example.org');
      assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    });
  });

  test('it refuses to overwrite a certificate whose key is missing', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'example.org.crt'), exampleCom.certPem);
      await assert.rejects(ensureCertificate(dir, 'example.org'), /example\.org\.key is missing/);
    });
  });

  test('it refuses a domain that would escape the directory', async () => {
    await assert.rejects(ensureCertificate(tmpdir(), '../evil'), /not a domain name/);
  });
});

describe('loadCertificatePair', () => {
  test('it loads a matching certificate and key', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'a.crt'), exampleCom.certPem);
      await writeFile(join(dir, 'a.key'), exampleCom.keyPem);
      const pair = await loadCertificatePair(join(dir, 'a.crt'), join(dir, 'a.key'));
      assert.deepEqual(pair, { certPem: exampleCom.certPem, keyPem: exampleCom.keyPem });
    });
  });

  test('it refuses a key that does not match the certificate', async () => {
    await withTempDir(async (dir) => {
      const certFile = join(dir, 'x.crt');
      const keyFile = join(dir, 'x.key');
      await writeFile(certFile, exampleCom.certPem);
      await writeFile(keyFile, exampleNet.keyPem);
      await assert.rejects(loadCertificatePair(certFile, keyFile), {
        message: `key ${keyFile} does not match certificate ${certFile}`,
      });
    });
  });

  test('it names the file that is not a PEM certificate', async () => {
    await withTempDir(async (dir) => {
      const certFile = join(dir, 'example.crt');
      await writeFile(certFile, 'hello');
      await writeFile(join(dir, 'example.key'), exampleCom.keyPem);
      await assert.rejects(loadCertificatePair(certFile, join(dir, 'example.key')), { message: `${certFile}: not a PEM certificate` });
    });
  });

  test('it names the file that is not a PEM private key', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'example.crt'), exampleCom.certPem);
      const keyFile = join(dir, 'example.key');
      await writeFile(keyFile, exampleCom.certPem);
      await assert.rejects(loadCertificatePair(join(dir, 'example.crt'), keyFile), { message: `${keyFile}: not a PEM private key` });
    });
  });

  test('it names a file that cannot be read', async () => {
    const missing = join(tmpdir(), 'parley-no-such-file.crt');
    await assert.rejects(loadCertificatePair(missing, missing), { message: `${missing}: cannot read (ENOENT)` });
  });
});

describe('createTlsContexts', () => {
  test('it defaults to TLS 1.2 as the minimum version', () => {
    const { secureOptions } = createTlsContexts([{ domain: 'example.com', ...exampleCom }]);
    assert.equal(secureOptions.minVersion, 'TLSv1.2');
  });

  test('it offers the xmpp-client ALPN protocol for direct TLS', () => {
    const { secureOptions } = createTlsContexts([{ domain: 'example.com', ...exampleCom }]);
    assert.deepEqual(secureOptions.ALPNProtocols, ['xmpp-client']);
  });

  test('it refuses a minimum version below TLS 1.2', () => {
    assert.throws(
      () => createTlsContexts([{ domain: 'example.com', ...exampleCom }], { minVersion: 'TLSv1.1' as TlsMinVersion }),
      /minVersion must be TLSv1\.2 or TLSv1\.3/,
    );
  });

  test('it refuses an empty certificate list', () => {
    assert.throws(() => createTlsContexts([]), /at least one certificate/);
  });
});

describe('a TLS server using the contexts', () => {
  let server: tls.Server;
  let port: number;
  const serverSockets = new Set<Socket>();

  before(async () => {
    const { secureOptions } = createTlsContexts([
      { domain: 'example.com', ...exampleCom },
      { domain: 'example.net', ...exampleNet },
    ]);
    server = tls.createServer(secureOptions, (socket) => socket.end());
    server.on('connection', (socket: Socket) => {
      serverSockets.add(socket);
      socket.on('close', () => serverSockets.delete(socket));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    for (const socket of serverSockets) socket.destroy();
    server.close();
    await once(server, 'close');
  });

  interface Handshake {
    commonName: string;
    authorized: boolean;
    alpn: string | false | null;
  }

  function handshake(options: tls.ConnectionOptions): Promise<Handshake> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, ...options }, () => {
        const result = {
          commonName: String(socket.getPeerCertificate().subject.CN),
          authorized: socket.authorized,
          alpn: socket.alpnProtocol ?? null,
        };
        // Close politely so that the server sees no reset from this test.
        socket.end();
        socket.on('close', () => resolve(result));
      });
      socket.on('error', (err) => {
        socket.destroy();
        reject(err);
      });
    });
  }

  test('it presents the example.com certificate for servername example.com', async () => {
    const result = await handshake({ servername: 'example.com', ca: [exampleCom.certPem] });
    assert.deepEqual([result.commonName, result.authorized], ['example.com', true]);
  });

  test('it presents the example.net certificate for servername example.net', async () => {
    const result = await handshake({ servername: 'example.net', ca: [exampleNet.certPem] });
    assert.deepEqual([result.commonName, result.authorized], ['example.net', true]);
  });

  test('it presents the certificate whose subjectAltName covers a subdomain', async () => {
    const result = await handshake({ servername: 'conference.example.com', ca: [exampleCom.certPem] });
    assert.deepEqual([result.commonName, result.authorized], ['example.com', true]);
  });

  test('it falls back to the first certificate for an unknown servername', async () => {
    const result = await handshake({ servername: 'unknown.example', rejectUnauthorized: false });
    assert.equal(result.commonName, 'example.com');
  });

  test('it negotiates xmpp-client when the client offers it', async () => {
    const result = await handshake({ servername: 'example.com', ca: [exampleCom.certPem], ALPNProtocols: ['xmpp-client'] });
    assert.equal(result.alpn, 'xmpp-client');
  });

  /** Resolves with the first tlsClientError the server reports with `code`. */
  function serverRefusal(code: string): Promise<NodeJS.ErrnoException> {
    return new Promise((resolve) => {
      const onError = (err: NodeJS.ErrnoException) => {
        if (err.code !== code) return;
        server.off('tlsClientError', onError);
        resolve(err);
      };
      server.on('tlsClientError', onError);
    });
  }

  test('it refuses a client limited to TLS 1.1', { timeout: 10_000 }, async () => {
    const refused = serverRefusal('ERR_SSL_UNSUPPORTED_PROTOCOL');
    await assert.rejects(
      handshake({
        servername: 'example.com',
        ca: [exampleCom.certPem],
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        // Let the client really offer TLS 1.1 so that it is the server that refuses.
        ciphers: 'DEFAULT@SECLEVEL=0',
      }),
    );
    assert.match((await refused).message, /unsupported protocol/);
  });
});
