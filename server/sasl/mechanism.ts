/**
 * The contract between the stream negotiator (RFC 6120 section 6) and the
 * individual SASL mechanisms, plus the small helpers the mechanisms share.
 *
 * A mechanism is a stateless descriptor; `start()` creates one exchange per
 * <auth/> element. The negotiator feeds the exchange the decoded payload of
 * <auth/> and each <response/>, and turns the returned step into <challenge/>
 * or <success/>, or a thrown SaslFailure into <failure/>.
 */
import { SaslprepError, saslprep } from './saslprep.js';

/** The defined conditions of RFC 6120 section 6.5. */
export type SaslFailureCondition =
  | 'aborted'
  | 'account-disabled'
  | 'credentials-expired'
  | 'encryption-required'
  | 'incorrect-encoding'
  | 'invalid-authzid'
  | 'invalid-mechanism'
  | 'malformed-request'
  | 'mechanism-too-weak'
  | 'not-authorized'
  | 'temporary-auth-failure';

/**
 * Thrown by an exchange to end it with <failure/>. `text` is safe to send to the
 * client and to log: mechanisms never put secrets (passwords, proofs) in it.
 */
export class SaslFailure extends Error {
  constructor(
    public condition: SaslFailureCondition,
    text?: string,
    options?: { cause?: unknown },
  ) {
    super(text ?? condition, options);
    this.name = 'SaslFailure';
  }
}

export type SaslStep =
  | { kind: 'challenge'; data: Buffer }
  /** `data` is "additional data with success" (RFC 6120 section 6.3.10), e.g. SCRAM's server-final message. */
  | { kind: 'success'; username: string; data?: Buffer };

export interface SaslExchange {
  /**
   * Process the next client message. `null` means the client sent no data at all,
   * which is only meaningful for the first call (an <auth/> without an initial
   * response, RFC 6120 section 6.4.2); an empty initial response ("=") is an
   * empty Buffer. Throws SaslFailure.
   */
  step(clientData: Buffer | null): Promise<SaslStep>;
  /** The authenticated (SASLprepped) username once a 'success' step has been returned, else null. */
  readonly username: string | null;
  /**
   * The SASLprepped username the client claimed, as soon as it has been parsed
   * (null before that). Not proof of anything: it is there so that failures can
   * be throttled per account as well as per address.
   */
  readonly attemptedUsername?: string | null;
}

export interface ScramCredentials {
  hash: 'SHA-1' | 'SHA-256';
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** The auth backend the mechanisms talk to (a SQLite store of local accounts, later LDAP). */
export interface SaslBackend {
  /** For SCRAM: the stored credentials for a (SASLprepped) username, or null if there is no such user. */
  scramCredentials(username: string, hash: 'SHA-1' | 'SHA-256'): Promise<ScramCredentials | null>;
  /** For PLAIN: check a password. May throw SaslFailure('temporary-auth-failure') when the backend is unreachable. */
  verifyPassword(username: string, password: string): Promise<boolean>;
}

export interface MechanismContext {
  backend: SaslBackend;
  /** The stream is protected by TLS. */
  secure: boolean;
  /**
   * Non-null when the server offers -PLUS mechanisms on this stream. Returns the
   * tls-exporter channel-binding data (RFC 9266), i.e.
   * `exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0))`.
   */
  channelBinding: (() => Buffer | null) | null;
  /**
   * Optional: the XMPP domain of the stream. When given, an authzid equal to the
   * bare JID `username@domain` is accepted as well as one equal to the username
   * (RFC 6120 section 6.3.8: clients may send their own bare JID as authzid).
   */
  domain?: string;
}

export interface Mechanism {
  /** The IANA-registered mechanism name, e.g. "SCRAM-SHA-256-PLUS". */
  name: string;
  /** Whether the mechanism uses channel binding. */
  plus: boolean;
  available(ctx: { secure: boolean; channelBindingAvailable: boolean }): boolean;
  start(ctx: MechanismContext): SaslExchange;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode a client message as strict UTF-8; anything else is a malformed request. */
export function decodeUtf8(data: Buffer, what: string): string {
  try {
    return utf8.decode(data);
  } catch {
    throw new SaslFailure('malformed-request', `${what} is not valid UTF-8`);
  }
}

/**
 * SASLprep a client-supplied identity or password as a "query" string (unassigned
 * code points allowed), as RFC 5802 section 5.1 and RFC 4616 section 2 ask of the
 * server. Prohibited input or an empty result is a malformed request. `what` names
 * the field for the error text; the value itself is never included.
 */
export function prepareClientString(value: string, what: string): string {
  let prepared: string;
  try {
    prepared = saslprep(value, { allowUnassigned: true });
  } catch (err) {
    if (err instanceof SaslprepError) {
      throw new SaslFailure('malformed-request', `${what} is not allowed by SASLprep`);
    }
    throw err;
  }
  if (prepared === '') throw new SaslFailure('malformed-request', `${what} is empty`);
  return prepared;
}

/**
 * RFC 6120 section 6.3.8: an authzid is only acceptable here if it names the
 * authenticated identity itself (we do not support acting on behalf of others).
 * An empty authzid means "derive it from the authentication identity".
 */
export function checkAuthzid(authzid: string, username: string, ctx: MechanismContext): void {
  if (authzid === '') return;
  let prepared: string;
  try {
    prepared = saslprep(authzid, { allowUnassigned: true });
  } catch (err) {
    if (err instanceof SaslprepError) throw new SaslFailure('invalid-authzid');
    throw err;
  }
  if (prepared === username) return;
  if (ctx.domain !== undefined && isOwnBareJid(prepared, username, ctx.domain)) return;
  throw new SaslFailure('invalid-authzid');
}

function isOwnBareJid(authzid: string, username: string, domain: string): boolean {
  const at = authzid.lastIndexOf('@');
  if (at < 0) return false;
  // Domain names compare case-insensitively (RFC 7622 section 3.2); the
  // localpart must match the authenticated username exactly.
  return authzid.slice(0, at) === username && authzid.slice(at + 1).toLowerCase() === domain.toLowerCase();
}

/**
 * Run a backend call so that the exchange only ever throws SaslFailure: the
 * backend's own SaslFailures pass through; a SaslprepError means the presented
 * password could never have been stored (stored strings are stricter than query
 * strings, RFC 3454 section 7), so it is simply wrong; anything else (a bug, a
 * lost database connection) becomes 'temporary-auth-failure' with the original as
 * `cause` so the negotiator can log it.
 */
export async function callBackend<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof SaslFailure) throw err;
    if (err instanceof SaslprepError) throw new SaslFailure('not-authorized');
    throw new SaslFailure('temporary-auth-failure', 'authentication backend error', { cause: err });
  }
}
