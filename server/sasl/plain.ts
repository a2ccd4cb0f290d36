/**
 * Server side of the PLAIN mechanism (RFC 4616). The password travels in the
 * clear inside the stream, so PLAIN is only ever offered, and only ever
 * accepted, on a TLS-protected stream (RFC 6120 section 13.8.3).
 */
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
} from './mechanism.js';

interface PlainMessage {
  authzid: string;
  authcid: string;
  passwd: string;
}

/** message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 section 2). */
export function parsePlainMessage(data: Buffer): PlainMessage {
  // A NUL byte never occurs inside a multi-byte UTF-8 sequence, so splitting the
  // decoded text on U+0000 splits the message exactly where the octets say.
  const parts = decodeUtf8(data, 'PLAIN message').split('\0');
  if (parts.length !== 3) throw new SaslFailure('malformed-request', 'expected authzid NUL authcid NUL passwd');
  const [authzid, authcid, passwd] = parts as [string, string, string];
  // authcid and passwd are 1*SAFE: neither may be empty.
  if (authcid === '' || passwd === '') throw new SaslFailure('malformed-request', 'empty authcid or password');
  return { authzid, authcid, passwd };
}

class PlainExchange implements SaslExchange {
  username: string | null = null;
  attemptedUsername: string | null = null;
  private state: 'initial' | 'awaiting-message' | 'done' = 'initial';

  constructor(private readonly ctx: MechanismContext) {}

  async step(clientData: Buffer | null): Promise<SaslStep> {
    try {
      return await this.dispatch(clientData);
    } catch (err) {
      this.state = 'done';
      throw err;
    }
  }

  private async dispatch(clientData: Buffer | null): Promise<SaslStep> {
    // Defence in depth: the negotiator should never have offered PLAIN here.
    if (!this.ctx.secure) throw new SaslFailure('encryption-required');
    switch (this.state) {
      case 'initial':
        // No initial response: the server sends an empty challenge (RFC 4616 section 2).
        if (clientData === null) {
          this.state = 'awaiting-message';
          return { kind: 'challenge', data: Buffer.alloc(0) };
        }
        return this.onMessage(clientData);
      case 'awaiting-message':
        return this.onMessage(clientData ?? Buffer.alloc(0));
      case 'done':
        throw new SaslFailure('malformed-request', 'the exchange has already finished');
    }
  }

  private async onMessage(data: Buffer): Promise<SaslStep> {
    this.state = 'done';
    const message = parsePlainMessage(data);
    // RFC 4616 section 4: presented identities and passwords are prepared with SASLprep (as query strings).
    const username = prepareClientString(message.authcid, 'authcid');
    this.attemptedUsername = username;
    const password = prepareClientString(message.passwd, 'password');
    checkAuthzid(message.authzid, username, this.ctx);

    const ok = await callBackend(() => this.ctx.backend.verifyPassword(username, password));
    if (!ok) throw new SaslFailure('not-authorized');
    this.username = username;
    return { kind: 'success', username };
  }
}

export const PLAIN: Mechanism = {
  name: 'PLAIN',
  plus: false,
  available: ({ secure }) => secure,
  start: (ctx) => new PlainExchange(ctx),
};
