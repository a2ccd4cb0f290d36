import { randomUUID } from 'node:crypto';
import type { AuditEvent, Element, Verdict } from '../../server/api/index.js';
import type { Direction, Outcome, RecordInput, UserViewRow } from './record.js';

/** Payloads that make a message worth recording although it has no body (XEP numbers in comments). */
const CONTENT_CHILDREN: readonly [string, string][] = [
  ['x', 'jabber:x:oob'],                               // 0066 out-of-band URL (file sharing)
  ['replace', 'urn:xmpp:message-correct:0'],           // 0308 correction
  ['retract', 'urn:xmpp:message-retract:1'],           // 0424 retraction
  ['retract', 'urn:xmpp:message-retract:0'],
  ['apply-to', 'urn:xmpp:fasten:0'],                   // 0422 (retraction and moderation v0)
  ['encrypted', 'eu.siacs.conversations.axolotl'],     // 0384 OMEMO (legacy)
  ['encrypted', 'urn:xmpp:omemo:2'],                   // 0384 OMEMO 2
  ['openpgp', 'urn:xmpp:openpgp:0'],                   // 0373
  ['reference', 'urn:xmpp:reference:0'],               // 0372/0385 shared files
  ['file-sharing', 'urn:xmpp:sfs:0'],                  // 0447 stateless file sharing
  ['reactions', 'urn:xmpp:reactions:0'],               // 0444
];

let idMs = -1;
let idPrefix = '';

/**
 * A UUID version 7 (RFC 9562): the time in ms, then random bits. Ids that grow with time land at
 * the end of the archive's id index instead of on a random page, which keeps each write small.
 * The time part is formatted once per millisecond; the random part is a random UUID's own
 * (version 4) random digits after its version digit, variant included.
 */
export function timeOrderedId(now: number): string {
  if (now !== idMs) {
    const t = now.toString(16).padStart(12, '0');
    idPrefix = `${t.slice(0, 8)}-${t.slice(8, 12)}-7`;
    idMs = now;
  }
  return idPrefix + randomUUID().slice(15);
}

/** Whether a message carries content that must be archived (not chat states, receipts or markers alone). */
export function carriesContent(stanza: Element): boolean {
  if (stanza.getChild('body') || stanza.getChild('subject')) return true;
  return CONTENT_CHILDREN.some(([name, ns]) => stanza.getChild(name, ns) !== undefined);
}

/** Facts about the participants that capture needs from the server. */
export interface Participants {
  isLocalDomain(domain: string): boolean;
}

export interface CaptureFacts {
  /** Whether the addressee is an existing local account (decides its history view). */
  recipientIsAccount: boolean;
  /** Whether either side is an extranet partner account. */
  partner: boolean;
}

/** Which domain sits under a hosted one (rooms.example.com under example.com) counts as ours. */
export function isOurs(domain: string, p: Participants): boolean {
  if (p.isLocalDomain(domain)) return true;
  const dot = domain.indexOf('.');
  return dot > 0 && p.isLocalDomain(domain.slice(dot + 1));
}

function outcomeOf(o: AuditEvent['outcome']): { outcome: Outcome; decision: string } {
  if (o === 'allowed') return { outcome: 'allowed', decision: '' };
  const v = o as Verdict;
  switch (v.kind) {
    case 'rewrite': return { outcome: 'rewritten', decision: '' };
    case 'block': return { outcome: 'blocked', decision: JSON.stringify({ condition: v.error.condition, text: v.error.text ?? '' }) };
    case 'drop': return { outcome: 'dropped', decision: JSON.stringify({ reason: v.reason }) };
    default: return { outcome: 'allowed', decision: '' };
  }
}

/**
 * The record for one audited message, and who sees it in their history. The stanza is
 * serialised as the sender sent it (with the server-stamped 'from'); when policy rewrote it, the
 * delivered form is kept too.
 */
export function buildRecord(audit: AuditEvent, facts: CaptureFacts, p: Participants, now: number, retainUntil: (ts: number, local: string[]) => string)
  : { record: RecordInput; views: UserViewRow[] } {
  const { event } = audit;
  const { outcome, decision } = outcomeOf(audit.outcome);
  const stanza = event.original;
  const delivered = outcome === 'rewritten' ? event.stanza : null;
  const content = delivered ?? stanza;
  const type = event.type;
  const senderBare = event.from.bare;
  const recipientBare = event.to.bare;
  const senderOurs = isOurs(event.from.domain, p);
  const recipientOurs = isOurs(event.to.domain, p);
  const direction: Direction = !senderOurs || !recipientOurs ? 'external' : facts.partner ? 'partner' : 'internal';
  const room = type !== 'groupchat' ? '' : event.to.resource === '' ? recipientBare : senderBare;

  const local: string[] = [];
  if (event.from.local && p.isLocalDomain(event.from.domain)) local.push(senderBare);
  if (event.to.local && p.isLocalDomain(event.to.domain) && recipientBare !== senderBare) local.push(recipientBare);

  const views: UserViewRow[] = [];
  if ((outcome === 'allowed' || outcome === 'rewritten') && (type === 'chat' || type === 'normal')) {
    if (event.origin) views.push({ owner: senderBare, with_jid: recipientBare });
    if (facts.recipientIsAccount && recipientBare !== senderBare) views.push({ owner: recipientBare, with_jid: senderBare });
  }

  return {
    record: {
      id: timeOrderedId(now),
      ts: now,
      kind: 'message',
      type,
      sender: event.from.full,
      sender_bare: senderBare,
      recipient: event.to.full,
      recipient_bare: recipientBare,
      room,
      direction,
      outcome,
      decision,
      body: content.getChildText('body') ?? '',
      subject: content.getChildText('subject') ?? '',
      thread: content.getChildText('thread') ?? '',
      stanza: stanza.toString(),
      delivered: delivered ? delivered.toString() : '',
      retain_until: retainUntil(now, local),
      meta: '',
      signature: '',
    },
    views,
  };
}
