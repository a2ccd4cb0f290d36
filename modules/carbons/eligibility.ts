import { NS, type Element } from '../../server/api/index.js';

export const CARBONS = 'urn:xmpp:carbons:2';
export const FORWARD = 'urn:xmpp:forward:0';
const MUC_USER = 'http://jabber.org/protocol/muc#user';
const RECEIPTS = 'urn:xmpp:receipts';
const MARKERS = 'urn:xmpp:chat-markers:0';

/**
 * XEP-0280 section 5 ("Messages Eligible for Carbons Delivery"), the suggested rules plus the
 * delivery receipts and chat markers that keep a conversation's state the same on every device:
 * - type chat;
 * - type normal with a body, a receipt or a marker;
 * - never groupchat, headline or error; never from a room (muc#user payload); never a carbon itself.
 */
export function isEligible(stanza: Element, type: string): boolean {
  if (type !== 'chat' && type !== 'normal') return false;
  if (stanza.getChild('received', CARBONS) || stanza.getChild('sent', CARBONS)) return false;
  if (stanza.getChild('x', MUC_USER)) return false;
  if (type === 'chat') return true;
  return stanza.getChild('body') !== undefined
    || stanza.getChild('received', RECEIPTS) !== undefined
    || stanza.getChildElements().some((c) => c.getNS() === MARKERS);
}

/**
 * XEP-0280 section 8 (`<private/>`) and XEP-0334 `<no-copy/>`: the sender asked for no copies at
 * all, on either side.
 */
export function copiesRefused(stanza: Element): boolean {
  return stanza.getChild('private', CARBONS) !== undefined || stanza.getChild('no-copy', NS.HINTS) !== undefined;
}
