import crypto from 'node:crypto';
import type { Element } from '@xmpp/xml';

export const NS_SM = 'urn:xmpp:sm:3';

const STANZAS = new Set(['message', 'presence', 'iq']);
export const isStanza = (el: Element): boolean => STANZAS.has(el.name);

/** Thrown when the client acknowledges stanzas the server never sent (XEP-0198 4: handled-count-too-high). */
export class AckOutOfRange extends Error {}

/**
 * XEP-0198 state of one session: what the client has handled (h sent in our <a/>), and the
 * stanzas sent to it that it has not acknowledged yet. It belongs to the session, not the
 * connection, so it survives a resumption.
 */
export class StreamManagementState {
  readonly id = crypto.randomBytes(12).toString('base64url');
  /** Stanzas received from the client and handled (our h). */
  inbound = 0;
  /** Stanzas sent to the client since enable (acked + unacked). */
  private sent = 0;
  /** Sent and not yet acknowledged, oldest first. */
  unacked: Element[] = [];
  /** A <r/> is outstanding; do not ask again until an <a/> arrives. */
  requested = false;

  constructor(readonly resumable: boolean) {}

  recordSent(stanza: Element): void {
    this.sent = (this.sent + 1) >>> 0;
    this.unacked.push(stanza);
  }

  recordHandled(): void {
    this.inbound = (this.inbound + 1) >>> 0;
  }

  /** The client says it handled `h` stanzas in all (XEP-0198 4); counters wrap at 2^32. */
  acknowledge(h: number): void {
    const firstUnacked = (this.sent - this.unacked.length) >>> 0;
    const count = (h - firstUnacked) >>> 0;
    if (count > this.unacked.length) throw new AckOutOfRange(`acknowledged ${h} stanzas, only ${this.sent} were sent`);
    this.unacked.splice(0, count);
    this.requested = false;
  }

  /** Take the unacknowledged stanzas to send them again (after a resumption) or to re-route them. */
  takeUnacked(): Element[] {
    const pending = this.unacked;
    this.unacked = [];
    this.sent = (this.sent - pending.length) >>> 0;
    return pending;
  }
}
