import { Jid, StanzaError, xml, type Element } from '../../server/api/index.js';

/** XEP-0402: the node and payload namespace of bookmarks. */
export const BOOKMARKS = 'urn:xmpp:bookmarks:1';
/** XEP-0048: the legacy bookmarks element kept in private XML storage (XEP-0049). */
export const LEGACY = 'storage:bookmarks';

/** One room bookmark in XEP-0402 form: the item id is the room's JID. */
export interface Bookmark { jid: string; payload: Element }

const truthy = (v: string | undefined) => v === 'true' || v === '1';

/**
 * XEP-0048 `<conference/>` → XEP-0402 item (XEP-0402 section 5.3 maps the same fields: name,
 * autojoin, nick, password; anything else namespaced goes into `<extensions/>`).
 */
export function fromLegacy(conference: Element): Bookmark {
  const raw = conference.attrs.jid ?? '';
  const jid = Jid.tryParse(raw);
  if (!jid || jid.local === '' || jid.resource !== '') {
    throw new StanzaError('not-acceptable', `A bookmark needs a room JID, not '${raw}'`);
  }
  const payload = xml('conference', { xmlns: BOOKMARKS, name: conference.attrs.name || undefined, autojoin: truthy(conference.attrs.autojoin) ? 'true' : undefined });
  const nick = conference.getChildText('nick');
  if (nick) payload.append(xml('nick', {}, nick));
  const password = conference.getChildText('password');
  if (password) payload.append(xml('password', {}, password));
  const extensions = conference.getChildElements().filter((c) => c.name !== 'nick' && c.name !== 'password');
  if (extensions.length > 0) payload.append(xml('extensions', {}, ...extensions));
  return { jid: jid.bare, payload };
}

/** XEP-0402 item → XEP-0048 `<conference/>` for clients that still read private storage. */
export function toLegacy(jid: string, payload: Element): Element {
  const conference = xml('conference', { jid, name: payload.attrs.name || undefined, autojoin: truthy(payload.attrs.autojoin) ? 'true' : 'false' });
  const nick = payload.getChildText('nick');
  if (nick) conference.append(xml('nick', {}, nick));
  const password = payload.getChildText('password');
  if (password) conference.append(xml('password', {}, password));
  for (const ext of payload.getChild('extensions')?.getChildElements() ?? []) conference.append(ext);
  return conference;
}
