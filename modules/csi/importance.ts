import type { Element } from '../../server/api/index.js';

const CARBONS = 'urn:xmpp:carbons:2';
const FORWARD = 'urn:xmpp:forward:0';
const CHAT_STATES = 'http://jabber.org/protocol/chatstates';
const MUC_USER = 'http://jabber.org/protocol/muc#user';

/** Payloads that need the user now even without a body: encrypted messages, invitations, calls, archive results. */
const URGENT_PAYLOADS = new Set([
  'eu.siacs.conversations.axolotl', // OMEMO (legacy)
  'urn:xmpp:omemo:2', // OMEMO 2
  'jabber:x:encrypted', // XEP-0027
  'urn:xmpp:openpgp:0', // XEP-0373
  'urn:xmpp:eme:0', // XEP-0380: the message is encrypted, whatever the method
  'jabber:x:conference', // XEP-0249 direct invitation
  'urn:xmpp:jingle-message:0', // XEP-0353 call proposals
  'urn:xmpp:mam:2', // XEP-0313 results the client is waiting for
]);

/** What to do with a stanza for an inactive client. */
export type Disposition =
  /** Send it now, after everything held so far. */
  | { readonly hold: false }
  /** Hold it; a later stanza with the same key replaces it (only the latest counts). */
  | { readonly hold: true; readonly key: string | null };

const IMPORTANT: Disposition = Object.freeze({ hold: false });
const HOLD: Disposition = Object.freeze({ hold: true, key: null });

/**
 * XEP-0352 leaves the choice to the server (section 3.2 lists examples). Parley's rules:
 * - IQs always go at once: someone waits for the answer.
 * - Presence updates (available and unavailable) wait, and only the latest from each full JID is
 *   kept. Subscription requests and answers, probes and errors go at once.
 * - Messages with a body or a subject, encrypted ones, invitations, call proposals, archive
 *   results and errors go at once, and so do carbon copies of such messages.
 * - Messages with only chat states wait, the latest per sender (and per carbon direction).
 * - Everything else waits in order: receipts, chat markers, PEP notifications (headlines without a
 *   body).
 */
export function disposition(stanza: Element): Disposition {
  if (stanza.name === 'iq') return IMPORTANT;
  if (stanza.name === 'presence') {
    const type = stanza.attrs.type;
    if (type === undefined || type === 'unavailable') return { hold: true, key: `presence ${stanza.attrs.from ?? ''}` };
    return IMPORTANT;
  }
  if (stanza.name !== 'message' || stanza.attrs.type === 'error') return IMPORTANT;
  const carbon = stanza.getChild('sent', CARBONS) ?? stanza.getChild('received', CARBONS);
  if (carbon) {
    const inner = carbon.getChild('forwarded', FORWARD)?.getChild('message');
    if (!inner) return HOLD;
    if (needsUserNow(inner)) return IMPORTANT;
    return onlyChatState(inner) ? { hold: true, key: `${carbon.name} chatstate ${inner.attrs.from ?? ''} ${inner.attrs.to ?? ''}` } : HOLD;
  }
  if (needsUserNow(stanza)) return IMPORTANT;
  if (onlyChatState(stanza)) return { hold: true, key: `chatstate ${stanza.attrs.from ?? ''}` };
  return HOLD;
}

function needsUserNow(message: Element): boolean {
  if (message.getChild('body') || message.getChild('subject')) return true;
  for (const child of message.getChildElements()) {
    const ns = child.getNS() ?? '';
    if (URGENT_PAYLOADS.has(ns)) return true;
    if (ns === MUC_USER && child.getChild('invite')) return true;
  }
  return false;
}

/** A message whose only payload is an XEP-0085 chat state (a thread id may come with it). */
function onlyChatState(message: Element): boolean {
  let state = false;
  for (const child of message.getChildElements()) {
    if (child.getNS() === CHAT_STATES) state = true;
    else if (child.name !== 'thread') return false;
  }
  return state;
}
