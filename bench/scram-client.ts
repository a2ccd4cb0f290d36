/**
 * The client side of SASL SCRAM-SHA-1 (RFC 5802) without channel binding, for the load generator.
 *
 * The PBKDF2 result is cached per (password, salt, iteration count), as real clients do: the
 * benchmark's accounts share one password and one salt, so the generator derives the key once
 * and spends its CPU on sockets. The servers' work per login is unchanged (neither runs PBKDF2
 * for a SCRAM login: both keep StoredKey and ServerKey).
 */
import crypto from 'node:crypto';

interface DerivedKeys { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer }
const derived = new Map<string, DerivedKeys>();

function keysFor(password: string, salt: Buffer, iterations: number): DerivedKeys {
  const cacheKey = `${password}\u0000${salt.toString('base64')}\u0000${iterations}`;
  let keys = derived.get(cacheKey);
  if (!keys) {
    const salted = crypto.pbkdf2Sync(password, salt, iterations, 20, 'sha1');
    const clientKey = hmac(salted, 'Client Key');
    keys = { clientKey, storedKey: crypto.createHash('sha1').update(clientKey).digest(), serverKey: hmac(salted, 'Server Key') };
    if (derived.size > 10_000) derived.clear();
    derived.set(cacheKey, keys);
  }
  return keys;
}

function hmac(key: Buffer, data: string): Buffer {
  return crypto.createHmac('sha1', key).update(data).digest();
}

/** Usernames in the benchmark are plain ASCII; RFC 5802 5.1 still asks for ',' and '=' escaped. */
function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

export class ScramSha1Client {
  private readonly clientFirstBare: string;
  private readonly nonce: string;
  private expectedServerSignature = '';

  constructor(private readonly username: string, private readonly password: string, nonce = crypto.randomBytes(12).toString('base64')) {
    this.nonce = nonce;
    this.clientFirstBare = `n=${saslName(username)},r=${nonce}`;
  }

  /** Base64 payload of `<auth mechanism='SCRAM-SHA-1'>`. */
  first(): string {
    return Buffer.from(`n,,${this.clientFirstBare}`).toString('base64');
  }

  /** Base64 payload of `<response>` for the server's base64 challenge. */
  final(challengeB64: string): string {
    const serverFirst = Buffer.from(challengeB64, 'base64').toString();
    const fields = new Map<string, string>();
    for (const part of serverFirst.split(',')) fields.set(part.slice(0, 1), part.slice(2));
    const nonce = fields.get('r');
    const salt = fields.get('s');
    const iterations = Number(fields.get('i'));
    if (!nonce || !nonce.startsWith(this.nonce) || !salt || !Number.isInteger(iterations)) {
      throw new Error(`bad SCRAM challenge: ${serverFirst}`);
    }
    const keys = keysFor(this.password, Buffer.from(salt, 'base64'), iterations);
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = crypto.createHmac('sha1', keys.storedKey).update(authMessage).digest();
    const proof = Buffer.alloc(signature.length);
    for (let i = 0; i < signature.length; i++) proof[i] = keys.clientKey[i]! ^ signature[i]!;
    this.expectedServerSignature = crypto.createHmac('sha1', keys.serverKey).update(authMessage).digest('base64');
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`).toString('base64');
  }

  /** True when the server's final message (from `<success>`) proves it knows the key. */
  verify(successB64: string): boolean {
    const text = Buffer.from(successB64, 'base64').toString();
    return text === `v=${this.expectedServerSignature}`;
  }
}

/** Base64 payload of `<auth mechanism='PLAIN'>` (RFC 4616). */
export function plainPayload(username: string, password: string): string {
  return Buffer.from(`\u0000${username}\u0000${password}`).toString('base64');
}
