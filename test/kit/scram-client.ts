import crypto from 'node:crypto';
import type { RawClient } from './raw.js';

/**
 * The client side of SCRAM (RFC 5802 / RFC 7677), for tests of mechanisms @xmpp/client lacks
 * (SCRAM-SHA-256 and the -PLUS variants with tls-exporter channel binding).
 */
export async function scramLogin(c: RawClient, opts: { mechanism: string; user: string; password: string; channelBinding?: Buffer | null }): Promise<'success' | string> {
  const hash = opts.mechanism.startsWith('SCRAM-SHA-256') ? 'sha256' : 'sha1';
  const plus = opts.mechanism.endsWith('-PLUS');
  const gs2 = plus ? 'p=tls-exporter,,' : 'n,,';
  const cnonce = crypto.randomBytes(18).toString('base64');
  const clientFirstBare = `n=${opts.user},r=${cnonce}`;
  c.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='${opts.mechanism}'>${Buffer.from(gs2 + clientFirstBare).toString('base64')}</auth>`);
  const first = await c.waitFor(/<challenge[^>]*>([^<]*)<\/challenge>|<failure[^>]*>(.*?)<\/failure>/);
  if (!first[1]) return first[2] ?? 'failure';
  const serverFirst = Buffer.from(first[1], 'base64').toString();
  const attrs = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
  const salted = crypto.pbkdf2Sync(opts.password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), hash === 'sha256' ? 32 : 20, hash);
  const clientKey = crypto.createHmac(hash, salted).update('Client Key').digest();
  const storedKey = crypto.createHash(hash).update(clientKey).digest();
  const cbind = Buffer.concat([Buffer.from(gs2), plus ? (opts.channelBinding ?? Buffer.alloc(32)) : Buffer.alloc(0)]).toString('base64');
  const finalNoProof = `c=${cbind},r=${attrs.r}`;
  const authMessage = `${clientFirstBare},${serverFirst},${finalNoProof}`;
  const signature = crypto.createHmac(hash, storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!)).toString('base64');
  c.clear();
  c.write(`<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${Buffer.from(`${finalNoProof},p=${proof}`).toString('base64')}</response>`);
  const end = await c.waitFor(/(<success[^>]*>([^<]*)<\/success>|<failure[^>]*>(.*?)<\/failure>)/);
  if (!end[2] && end[3] !== undefined) return end[3];
  // Check the server's signature too: a server that cannot prove it knows the key is an impostor.
  const serverKey = crypto.createHmac(hash, salted).update('Server Key').digest();
  const expected = crypto.createHmac(hash, serverKey).update(authMessage).digest('base64');
  const v = Buffer.from(end[2] ?? '', 'base64').toString();
  if (v !== `v=${expected}`) return `bad server signature: ${v}`;
  return 'success';
}
