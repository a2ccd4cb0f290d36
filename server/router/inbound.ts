import type { Element } from '@xmpp/xml';
import { StanzaError, StreamError } from '../api/errors.js';
import { stanzaType } from '../api/stanza.js';
import type { StanzaEvent, StanzaKind } from '../api/events.js';
import type { Session } from '../api/session.js';
import { Jid } from '../xml/jid.js';

const IQ_TYPES = new Set(['get', 'set', 'result', 'error']);
const MESSAGE_TYPES = new Set(['chat', 'error', 'groupchat', 'headline', 'normal']);
const PRESENCE_TYPES = new Set(['available', 'error', 'probe', 'subscribe', 'subscribed', 'unavailable', 'unsubscribe', 'unsubscribed']);

let counter = 0;
const PREFIX = `${process.pid.toString(36)}-${Date.now().toString(36)}-`;
/** A server-unique stanza id: cheap, monotonic, never a random call per stanza. */
export function nextStanzaId(): string {
  return PREFIX + (counter++).toString(36);
}

/** Thrown when an inbound stanza is refused before it becomes an event; `reply` says how to answer. */
export class InboundRefusal extends Error {
  constructor(readonly error: StanzaError) { super(error.message); }
}

/**
 * RFC 6120 checks for a stanza from a bound client, 'from' stamped, 'to' prepared once.
 * Throws StreamError for offences against the stream (a spoofed 'from'), InboundRefusal for a
 * stanza that gets a stanza error.
 */
export function inboundFromClient(session: Session, stanza: Element): StanzaEvent {
  const kind = stanza.name as StanzaKind;
  // RFC 6120 8.1.2.1: a 'from' that is not the session's own JID is a stream-level offence.
  const claimed = stanza.attrs.from;
  if (claimed !== undefined && claimed !== session.jid.full && claimed !== session.jid.bare) {
    const parsed = Jid.tryParse(claimed);
    if (!parsed || (parsed.full !== session.jid.full && parsed.full !== session.jid.bare)) {
      throw new StreamError('invalid-from', `'${claimed}' is not the address bound to this stream`);
    }
  }
  stanza.attrs.from = session.jid.full;
  const type = stanzaType(stanza);
  checkStanzaShape(kind, stanza, type);

  let to: Jid;
  let toImplicit = false;
  const rawTo = stanza.attrs.to;
  if (rawTo === undefined || rawTo === '') {
    // RFC 6120 10.3: no 'to' means the sender's own account.
    to = session.jid.bareJid();
    toImplicit = true;
    delete stanza.attrs.to;
  } else {
    const parsed = Jid.tryParse(rawTo);
    if (!parsed) throw new InboundRefusal(new StanzaError('jid-malformed', `'${rawTo}' is not a valid address`));
    to = parsed;
    if (parsed.full !== rawTo) stanza.attrs.to = parsed.full;
  }
  return { id: nextStanzaId(), kind, type, stanza, original: stanza, origin: session, from: session.jid, to, toImplicit };
}

/** The same event for a stanza a module made (`ctx.router.send`): 'from' is the module's choice. */
export function inboundFromServer(stanza: Element): StanzaEvent {
  const kind = stanza.name as StanzaKind;
  const from = Jid.tryParse(stanza.attrs.from ?? '');
  if (!from) throw new Error(`router.send: stanza needs a valid 'from', got '${stanza.attrs.from ?? ''}'`);
  const to = Jid.tryParse(stanza.attrs.to ?? '');
  if (!to) throw new Error(`router.send: stanza needs a valid 'to', got '${stanza.attrs.to ?? ''}'`);
  return { id: nextStanzaId(), kind, type: stanzaType(stanza), stanza, original: stanza, origin: null, from, to, toImplicit: false };
}

function checkStanzaShape(kind: StanzaKind, stanza: Element, type: string): void {
  if (kind === 'iq') {
    // RFC 6120 8.2.3: an IQ has an id and a type; get and set carry exactly one payload.
    if (!IQ_TYPES.has(type)) throw new InboundRefusal(new StanzaError('bad-request', `IQ type '${type}' is not get, set, result or error`));
    if (!stanza.attrs.id) throw new InboundRefusal(new StanzaError('bad-request', 'IQ without an id'));
    if ((type === 'get' || type === 'set') && stanza.getChildElements().length !== 1) {
      throw new InboundRefusal(new StanzaError('bad-request', 'IQ get/set must have exactly one child element'));
    }
  } else if (kind === 'message') {
    if (!MESSAGE_TYPES.has(type)) throw new InboundRefusal(new StanzaError('bad-request', `message type '${type}' is not defined`));
  } else if (kind === 'presence') {
    if (!PRESENCE_TYPES.has(type) || stanza.attrs.type === 'available') {
      throw new InboundRefusal(new StanzaError('bad-request', `presence type '${stanza.attrs.type}' is not defined`));
    }
  }
}
