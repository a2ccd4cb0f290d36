import { Element, xml } from '@xmpp/xml';
import { NS } from './ns.js';

/** RFC 6120 section 8.3.3 defined stanza error conditions. */
export type StanzaErrorCondition =
  | 'bad-request' | 'conflict' | 'feature-not-implemented' | 'forbidden' | 'gone'
  | 'internal-server-error' | 'item-not-found' | 'jid-malformed' | 'not-acceptable'
  | 'not-allowed' | 'not-authorized' | 'policy-violation' | 'recipient-unavailable'
  | 'redirect' | 'registration-required' | 'remote-server-not-found'
  | 'remote-server-timeout' | 'resource-constraint' | 'service-unavailable'
  | 'subscription-required' | 'undefined-condition' | 'unexpected-request';

export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

/** RFC 6120 section 8.3.3: the error type each condition usually carries. */
const DEFAULT_TYPE: Record<StanzaErrorCondition, StanzaErrorType> = {
  'bad-request': 'modify', conflict: 'cancel', 'feature-not-implemented': 'cancel',
  forbidden: 'auth', gone: 'cancel', 'internal-server-error': 'cancel',
  'item-not-found': 'cancel', 'jid-malformed': 'modify', 'not-acceptable': 'modify',
  'not-allowed': 'cancel', 'not-authorized': 'auth', 'policy-violation': 'modify',
  'recipient-unavailable': 'wait', redirect: 'modify', 'registration-required': 'auth',
  'remote-server-not-found': 'cancel', 'remote-server-timeout': 'wait',
  'resource-constraint': 'wait', 'service-unavailable': 'cancel',
  'subscription-required': 'auth', 'undefined-condition': 'cancel', 'unexpected-request': 'wait',
};

export interface StanzaErrorOptions {
  type?: StanzaErrorType;
  /** An application-specific condition element (RFC 6120 8.3.2), e.g. `<blocked xmlns='urn:xmpp:blocking:errors'/>`. */
  app?: Element;
  /** The entity that generated the error (RFC 6120 8.3.2 'by'). */
  by?: string;
}

/** A refusal that becomes an `<error/>` reply: throw it or return `block(err)` from a hook. */
export class StanzaError extends Error {
  readonly type: StanzaErrorType;
  readonly app: Element | undefined;
  readonly by: string | undefined;
  constructor(readonly condition: StanzaErrorCondition, readonly text?: string, opts: StanzaErrorOptions = {}) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = 'StanzaError';
    this.type = opts.type ?? DEFAULT_TYPE[condition];
    this.app = opts.app;
    this.by = opts.by;
  }

  /** The `<error/>` child for the reply stanza. */
  toElement(): Element {
    const el = xml('error', { type: this.type, by: this.by }, xml(this.condition, { xmlns: NS.STANZAS }));
    if (this.text) el.append(xml('text', { xmlns: NS.STANZAS, 'xml:lang': 'en' }, this.text));
    if (this.app) el.append(this.app);
    return el;
  }
}

/** RFC 6120 section 4.9.3 stream error conditions. */
export type StreamErrorCondition =
  | 'bad-format' | 'bad-namespace-prefix' | 'conflict' | 'connection-timeout' | 'host-gone'
  | 'host-unknown' | 'improper-addressing' | 'internal-server-error' | 'invalid-from'
  | 'invalid-namespace' | 'invalid-xml' | 'not-authorized' | 'not-well-formed'
  | 'policy-violation' | 'remote-connection-failed' | 'reset' | 'resource-constraint'
  | 'restricted-xml' | 'see-other-host' | 'system-shutdown' | 'undefined-condition'
  | 'unsupported-encoding' | 'unsupported-feature' | 'unsupported-stanza-type'
  | 'unsupported-version';

/** An error that ends the whole stream: `<stream:error/>` then `</stream:stream>`. */
export class StreamError extends Error {
  constructor(readonly condition: StreamErrorCondition, readonly text?: string) {
    super(text ? `${condition}: ${text}` : condition);
    this.name = 'StreamError';
  }

  toElement(): Element {
    const el = xml('stream:error', {}, xml(this.condition, { xmlns: NS.STREAMS }));
    if (this.text) el.append(xml('text', { xmlns: NS.STREAMS, 'xml:lang': 'en' }, this.text));
    return el;
  }
}

/** Thrown by an account provider whose backend (the directory) cannot be reached: clients get temporary-auth-failure. */
export class AuthUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthUnavailableError';
  }
}
