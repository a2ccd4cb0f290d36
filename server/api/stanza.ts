import { Element, xml } from '@xmpp/xml';
import ltxClone from 'ltx/lib/clone.js';
import { NS } from './ns.js';
import type { StanzaError } from './errors.js';

/** A stanza's type with the RFC defaults: 'normal' for messages (RFC 6121 5.2.2), 'available' for presence. */
export function stanzaType(stanza: Element): string {
  const t = stanza.attrs.type;
  if (t) return t;
  if (stanza.name === 'message') return 'normal';
  if (stanza.name === 'presence') return 'available';
  return '';
}

/** An empty-or-payload IQ result for `iq`, addressed back to its sender. */
export function resultReply(iq: Element, payload?: Element): Element {
  const reply = xml('iq', { type: 'result', id: iq.attrs.id, from: iq.attrs.to, to: iq.attrs.from });
  if (payload) reply.append(payload);
  return reply;
}

/**
 * The error answer to a stanza (RFC 6120 8.3.1): to and from swapped, same id, type 'error'.
 * For messages the original body is not echoed back, to keep copies of content out of error paths.
 */
export function errorReply(stanza: Element, error: StanzaError): Element {
  const reply = new Element(stanza.name, { type: 'error', id: stanza.attrs.id, from: stanza.attrs.to, to: stanza.attrs.from });
  if (stanza.name === 'iq') {
    const payload = stanza.getChildElements()[0];
    if (payload) reply.append(cloneElement(payload));
  }
  reply.append(error.toElement());
  return reply;
}

/** XEP-0203 delay stamp. */
export function delayStamp(from: string, at: Date, reason?: string): Element {
  return xml('delay', { xmlns: NS.DELAY, from, stamp: at.toISOString() }, reason ?? undefined);
}

/** A deep copy of an element (for rewrites and per-recipient changes: stanzas may be shared). */
export function cloneElement<T extends Element>(el: T): T {
  return ltxClone(el);
}
