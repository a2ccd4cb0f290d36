import { NS, type Element } from '../../server/api/index.js';

const CHAT_STATES = 'http://jabber.org/protocol/chatstates';
const STANZA_IDS = 'urn:xmpp:sid:0';

/** Children that carry no content of their own: a message made only of these is not worth storing. */
const NOT_CONTENT_NS = new Set<string>([CHAT_STATES, NS.HINTS, STANZA_IDS, NS.DELAY]);

/**
 * Whether a message that no resource could take goes to offline storage (XEP-0160 section 3,
 * XEP-0334 hints). Whatever is not stored falls through to the core, which bounces it with
 * service-unavailable (RFC 6121 8.5.2.2.1) or, for a headline, lets it vanish.
 */
export function worthStoringOffline(stanza: Element, type: string): boolean {
  // XEP-0160: groupchat and error SHOULD NOT be stored.
  if (type === 'groupchat' || type === 'error') return false;
  // XEP-0334 4.1/4.2: the sender asked for no storage at all, or for none beyond the current
  // session; the recipient has no current session, so offline storage would break either.
  if (hasHint(stanza, 'no-store') || hasHint(stanza, 'no-permanent-store')) return false;
  // XEP-0334 4.3: the sender asked for it to be stored.
  if (hasHint(stanza, 'store')) return true;
  // XEP-0160: headline SHOULD NOT be stored; chat and normal SHOULD, except chat states alone.
  if (type === 'headline') return false;
  return hasContent(stanza);
}

function hasHint(stanza: Element, name: string): boolean {
  return stanza.getChild(name, NS.HINTS) !== undefined;
}

/** A body, a subject, or any extension other than chat states, hints, ids, delays and thread. */
function hasContent(stanza: Element): boolean {
  for (const child of stanza.getChildElements()) {
    if (child.name === 'thread') continue;
    const ns = child.attrs.xmlns;
    if (ns !== undefined && NOT_CONTENT_NS.has(ns)) continue;
    return true;
  }
  return false;
}
