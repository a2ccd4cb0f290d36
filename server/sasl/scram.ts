/**
 * Server side of SCRAM (RFC 5802) with SHA-1 and SHA-256 (RFC 7677), with and
 * without tls-exporter channel binding (RFC 9266).
 *
 * The exchange is:
 *   client-first  ->  server-first (challenge)
 *   client-final  ->  server-final as additional data with <success/>
 *                     (RFC 6120 section 6.3.10)
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  SaslFailure,
  callBackend,
  checkAuthzid,
  decodeUtf8,
  prepareClientString,
  type Mechanism,
  type MechanismContext,
  type SaslExchange,
  type SaslStep,
  type ScramCredentials,
} from './mechanism.js';
import { saslprep } from './saslprep.js';

export type ScramHash = 'SHA-1' | 'SHA-256';

/** RFC 5802 section 5.1 / RFC 7677 section 4: the iteration count SHOULD be at least 4096. */
export const MIN_SCRAM_ITERATIONS = 4096;

/** The only channel-binding type we support (RFC 9266; RFC 9266 section 4 makes it the default for TLS 1.3). */
export const CHANNEL_BINDING_TYPE = 'tls-exporter';

const NODE_HASH: Record<ScramHash, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256' };
const HASH_LENGTH: Record<ScramHash, number> = { 'SHA-1': 20, 'SHA-256': 32 };
const DEFAULT_SALT_LENGTH = 16;

function hmac(hash: ScramHash, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(NODE_HASH[hash], key).update(data).digest();
}

function digest(hash: ScramHash, data: Buffer): Buffer {
  return createHash(NODE_HASH[hash]).update(data).digest();
}

/**
 * Compute what the server stores for a password (RFC 5802 section 3):
 * SaltedPassword = Hi(Normalize(password), salt, i), StoredKey = H(HMAC(SaltedPassword, "Client Key")),
 * ServerKey = HMAC(SaltedPassword, "Server Key"). Normalize is SASLprep with the
 * password treated as a stored string (RFC 5802 section 2.2), so this throws
 * SaslprepError for passwords that SASLprep prohibits.
 */
export function deriveScramCredentials(
  password: string,
  hash: ScramHash,
  iterations = MIN_SCRAM_ITERATIONS,
  salt?: Buffer,
): ScramCredentials {
  if (!Number.isSafeInteger(iterations) || iterations < MIN_SCRAM_ITERATIONS) {
    throw new RangeError(`SCRAM iteration count must be an integer of at least ${MIN_SCRAM_ITERATIONS}`);
  }
  const useSalt = salt === undefined ? randomBytes(DEFAULT_SALT_LENGTH) : Buffer.from(salt);
  if (useSalt.length === 0) throw new RangeError('SCRAM salt must not be empty');
  const normalized = Buffer.from(saslprep(password), 'utf8');
  // Hi() is PBKDF2 with HMAC as the PRF and one block of output (RFC 5802 section 2.2).
  const saltedPassword = pbkdf2Sync(normalized, useSalt, iterations, HASH_LENGTH[hash], NODE_HASH[hash]);
  const clientKey = hmac(hash, saltedPassword, 'Client Key');
  return {
    hash,
    salt: useSalt,
    iterations,
    storedKey: digest(hash, clientKey),
    serverKey: hmac(hash, saltedPassword, 'Server Key'),
  };
}

/**
 * Key for the fake salts of unknown users. Per process and random, so the fake
 * salt for a name is stable while the server runs (asking twice reveals nothing)
 * but cannot be predicted from outside.
 */
const FAKE_SALT_KEY = randomBytes(32);

/**
 * RFC 5802 section 9 suggests not revealing whether a user exists: an unknown
 * user gets plausible credentials that no proof can match. The keys are random,
 * so verification runs the same code and fails.
 */
function fakeCredentials(username: string, hash: ScramHash): ScramCredentials {
  const salt = createHmac('sha256', FAKE_SALT_KEY)
    .update(`${hash}\0${username}`, 'utf8')
    .digest()
    .subarray(0, DEFAULT_SALT_LENGTH);
  return {
    hash,
    salt,
    iterations: MIN_SCRAM_ITERATIONS,
    storedKey: randomBytes(HASH_LENGTH[hash]),
    serverKey: randomBytes(HASH_LENGTH[hash]),
  };
}

/** A backend handing back unusable credentials is a server fault, not the client's. */
function checkStoredCredentials(creds: ScramCredentials, hash: ScramHash): void {
  const length = HASH_LENGTH[hash];
  const usable =
    creds.hash === hash &&
    Number.isSafeInteger(creds.iterations) &&
    creds.iterations > 0 &&
    creds.salt.length > 0 &&
    creds.storedKey.length === length &&
    creds.serverKey.length === length;
  if (!usable) throw new SaslFailure('temporary-auth-failure', 'stored SCRAM credentials are unusable');
}

// ---------------------------------------------------------------------------
// Message syntax (RFC 5802 section 7)
// ---------------------------------------------------------------------------

const malformed = (text: string) => new SaslFailure('malformed-request', text);

/** saslname = 1*(value-safe-char / "=2C" / "=3D"); value-safe-char excludes NUL, "," and "=". */
const SASLNAME = /^(?:[^\0=,]|=2C|=3D)+$/u;

/** printable = %x21-2B / %x2D-7E (any printable ASCII except ","). */
const PRINTABLE = /^[\x21-\x2B\x2D-\x7E]+$/;

/** cb-name = 1*(ALPHA / DIGIT / "." / "-") (RFC 5802 section 7). */
const CB_NAME = /^[A-Za-z0-9.-]+$/;

/** attr-val = ALPHA "=" value, value = 1*value-char. */
const ATTR_VAL = /^[A-Za-z]=[^\0,]+$/u;

/** Strict base64 (RFC 4648 section 4): Buffer.from() would silently skip junk. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decode a saslname. RFC 5802 section 5.1: "=" not followed by "2C" or "3D"
 * MUST fail the authentication.
 */
function decodeSaslname(value: string, what: string): string {
  if (!SASLNAME.test(value)) throw malformed(`${what} is not a valid saslname`);
  return value.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

function decodeBase64(value: string, what: string): Buffer {
  if (value === '' || !BASE64.test(value)) throw new SaslFailure('incorrect-encoding', `${what} is not valid base64`);
  return Buffer.from(value, 'base64');
}

/** Return the value of attribute `name` in `part`, or fail. */
function attribute(part: string | undefined, name: string, what: string): string {
  if (part === undefined || !part.startsWith(`${name}=`)) throw malformed(`expected ${what}`);
  return part.slice(name.length + 1);
}

/** Optional extensions: syntax-checked, then ignored (we implement none). */
function checkExtensions(parts: string[]): void {
  for (const part of parts) {
    if (!ATTR_VAL.test(part)) throw malformed('invalid attribute');
  }
}

type CbFlag = { kind: 'n' } | { kind: 'y' } | { kind: 'p'; name: string };

interface ClientFirst {
  /** gs2-header including its trailing comma, exactly as sent: it is echoed in c=. */
  gs2Header: string;
  cbFlag: CbFlag;
  /** Decoded authzid, '' when absent. */
  authzid: string;
  /** Decoded, not yet SASLprepped username. */
  username: string;
  nonce: string;
  /** client-first-message-bare, part of AuthMessage. */
  bare: string;
}

function parseCbFlag(flag: string): CbFlag {
  if (flag === 'n' || flag === 'y') return { kind: flag };
  const name = flag.startsWith('p=') ? flag.slice(2) : '';
  if (!CB_NAME.test(name)) throw malformed('invalid gs2-cbind-flag');
  return { kind: 'p', name };
}

function parseAuthzid(part: string): string {
  if (part === '') return '';
  return decodeSaslname(attribute(part, 'a', 'authzid'), 'authzid');
}

/** client-first-message = gs2-header client-first-message-bare */
export function parseClientFirst(msg: string): ClientFirst {
  const firstComma = msg.indexOf(',');
  const secondComma = firstComma < 0 ? -1 : msg.indexOf(',', firstComma + 1);
  if (secondComma < 0) throw malformed('missing gs2-header');
  const cbFlag = parseCbFlag(msg.slice(0, firstComma));
  const authzid = parseAuthzid(msg.slice(firstComma + 1, secondComma));
  const gs2Header = msg.slice(0, secondComma + 1);
  const bare = msg.slice(secondComma + 1);

  const parts = bare.split(',');
  // reserved-mext: "m" marks an extension the server MUST understand; we understand none (section 5.1).
  if (parts[0]?.startsWith('m=')) throw malformed('mandatory extension not supported');
  const username = decodeSaslname(attribute(parts[0], 'n', 'username'), 'username');
  const nonce = attribute(parts[1], 'r', 'nonce');
  if (!PRINTABLE.test(nonce)) throw malformed('invalid nonce');
  checkExtensions(parts.slice(2));
  return { gs2Header, cbFlag, authzid, username, nonce, bare };
}

interface ClientFinal {
  channelBinding: Buffer;
  nonce: string;
  proof: Buffer;
  /** client-final-message-without-proof, part of AuthMessage. */
  withoutProof: string;
}

/** client-final-message = channel-binding "," nonce ["," extensions] "," proof */
export function parseClientFinal(msg: string): ClientFinal {
  const parts = msg.split(',');
  if (parts.length < 3) throw malformed('incomplete client-final-message');
  const channelBinding = decodeBase64(attribute(parts[0], 'c', 'channel-binding'), 'channel-binding');
  const nonce = attribute(parts[1], 'r', 'nonce');
  checkExtensions(parts.slice(2, -1));
  const proof = decodeBase64(attribute(parts[parts.length - 1], 'p', 'proof'), 'proof');
  return { channelBinding, nonce, proof, withoutProof: parts.slice(0, -1).join(',') };
}

// ---------------------------------------------------------------------------
// The exchange
// ---------------------------------------------------------------------------

export interface ScramStartOptions {
  /** Produces the server nonce. Only for tests that replay RFC examples; by default 18 random bytes in base64. */
  nonce?: () => string;
}

function defaultServerNonce(): string {
  return randomBytes(18).toString('base64');
}

/** Constant-time comparison that also tolerates different lengths. */
function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** What the server remembers between server-first and client-final. */
interface PendingProof {
  first: ClientFirst;
  serverFirst: string;
  fullNonce: string;
  creds: ScramCredentials;
  /** False when `creds` are fake because the user does not exist. */
  known: boolean;
  username: string;
  /** tls-exporter bytes for -PLUS, empty otherwise. */
  cbData: Buffer;
}

class ScramExchange implements SaslExchange {
  username: string | null = null;
  attemptedUsername: string | null = null;
  private state: 'initial' | 'awaiting-first' | 'awaiting-final' | 'done' = 'initial';
  private pending: PendingProof | null = null;

  constructor(
    private readonly hash: ScramHash,
    private readonly plus: boolean,
    private readonly ctx: MechanismContext,
    private readonly makeNonce: () => string,
  ) {}

  async step(clientData: Buffer | null): Promise<SaslStep> {
    try {
      return await this.dispatch(clientData);
    } catch (err) {
      // Any failure ends the exchange (RFC 6120 section 6.4.5): it cannot be resumed.
      this.state = 'done';
      this.pending = null;
      throw err;
    }
  }

  private async dispatch(clientData: Buffer | null): Promise<SaslStep> {
    switch (this.state) {
      case 'initial':
        // No initial response: ask for client-first with an empty challenge (RFC 6120 section 6.4.2).
        if (clientData === null) {
          this.state = 'awaiting-first';
          return { kind: 'challenge', data: Buffer.alloc(0) };
        }
        return this.onClientFirst(clientData);
      case 'awaiting-first':
        return this.onClientFirst(clientData ?? Buffer.alloc(0));
      case 'awaiting-final':
        return this.onClientFinal(clientData ?? Buffer.alloc(0));
      case 'done':
        throw malformed('the exchange has already finished');
    }
  }

  private async onClientFirst(data: Buffer): Promise<SaslStep> {
    const first = parseClientFirst(decodeUtf8(data, 'client-first-message'));
    const cbData = this.checkChannelBindingFlag(first.cbFlag);
    const username = prepareClientString(first.username, 'username');
    this.attemptedUsername = username;
    checkAuthzid(first.authzid, username, this.ctx);

    const stored = await callBackend(() => this.ctx.backend.scramCredentials(username, this.hash));
    if (stored !== null) checkStoredCredentials(stored, this.hash);
    const creds = stored ?? fakeCredentials(username, this.hash);

    const serverNonce = this.makeNonce();
    if (!PRINTABLE.test(serverNonce)) throw new Error('SCRAM server nonce must be printable ASCII without ","');
    const fullNonce = first.nonce + serverNonce;
    const serverFirst = `r=${fullNonce},s=${creds.salt.toString('base64')},i=${creds.iterations}`;

    this.pending = { first, serverFirst, fullNonce, creds, known: stored !== null, username, cbData };
    this.state = 'awaiting-final';
    return { kind: 'challenge', data: Buffer.from(serverFirst, 'utf8') };
  }

  /**
   * RFC 5802 section 6: decide whether the client's gs2-cbind-flag is acceptable
   * for this mechanism, and return the channel-binding data it must echo.
   */
  private checkChannelBindingFlag(flag: CbFlag): Buffer {
    if (!this.plus) {
      if (flag.kind === 'p') throw malformed('channel binding requires a -PLUS mechanism');
      // "y" means "I could bind but the server did not seem to offer it". If we
      // did offer -PLUS, someone stripped it from the mechanism list: a downgrade.
      if (flag.kind === 'y' && this.ctx.channelBinding !== null) {
        throw new SaslFailure('not-authorized', 'channel binding was offered');
      }
      return Buffer.alloc(0);
    }
    if (flag.kind !== 'p') throw malformed('a -PLUS mechanism requires channel binding');
    if (flag.name !== CHANNEL_BINDING_TYPE) throw malformed('unsupported channel-binding type');
    const cbData = this.ctx.channelBinding?.() ?? null;
    if (cbData === null) throw new SaslFailure('not-authorized', 'channel binding is not available');
    return cbData;
  }

  private async onClientFinal(data: Buffer): Promise<SaslStep> {
    const pending = this.pending!;
    const final = parseClientFinal(decodeUtf8(data, 'client-final-message'));

    // c= is base64(gs2-header || cbind-data): it proves both sides saw the same
    // header and, for -PLUS, the same TLS channel (RFC 5802 section 7, RFC 9266).
    const expectedBinding = Buffer.concat([Buffer.from(pending.first.gs2Header, 'utf8'), pending.cbData]);
    if (!sameBytes(final.channelBinding, expectedBinding)) {
      throw new SaslFailure('not-authorized', 'channel binding mismatch');
    }
    if (final.nonce !== pending.fullNonce) throw new SaslFailure('not-authorized', 'nonce mismatch');
    if (final.proof.length !== HASH_LENGTH[this.hash]) throw malformed('proof has the wrong length');

    const authMessage = `${pending.first.bare},${pending.serverFirst},${final.withoutProof}`;
    if (!this.verifyProof(pending, authMessage, final.proof)) throw new SaslFailure('not-authorized');

    const serverSignature = hmac(this.hash, pending.creds.serverKey, authMessage);
    this.username = pending.username;
    this.state = 'done';
    this.pending = null;
    return { kind: 'success', username: pending.username, data: Buffer.from(`v=${serverSignature.toString('base64')}`) };
  }

  /**
   * RFC 5802 section 3: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage);
   * the proof is good when H(ClientKey) equals StoredKey. The same work is done
   * for unknown users so timing does not tell them apart.
   */
  private verifyProof(pending: PendingProof, authMessage: string, proof: Buffer): boolean {
    const clientSignature = hmac(this.hash, pending.creds.storedKey, authMessage);
    const clientKey = xor(proof, clientSignature);
    const matches = timingSafeEqual(digest(this.hash, clientKey), pending.creds.storedKey);
    return matches && pending.known;
  }
}

// ---------------------------------------------------------------------------
// Mechanisms
// ---------------------------------------------------------------------------

export interface ScramMechanism extends Mechanism {
  hash: ScramHash;
  start(ctx: MechanismContext, options?: ScramStartOptions): SaslExchange;
}

function scramMechanism(hash: ScramHash, plus: boolean): ScramMechanism {
  return {
    name: `SCRAM-${hash}${plus ? '-PLUS' : ''}`,
    hash,
    plus,
    // Non-PLUS variants are always offerable: the negotiator only offers SASL after TLS.
    available: ({ channelBindingAvailable }) => !plus || channelBindingAvailable,
    start: (ctx, options = {}) => new ScramExchange(hash, plus, ctx, options.nonce ?? defaultServerNonce),
  };
}

export const SCRAM_SHA_1: ScramMechanism = scramMechanism('SHA-1', false);
export const SCRAM_SHA_256: ScramMechanism = scramMechanism('SHA-256', false);
export const SCRAM_SHA_1_PLUS: ScramMechanism = scramMechanism('SHA-1', true);
export const SCRAM_SHA_256_PLUS: ScramMechanism = scramMechanism('SHA-256', true);
