import { Jid, NS, StanzaError, xml, type Element } from '../../server/api/index.js';
import type { ItemEdit, RosterItem } from './service.js';

export interface RosterLimits {
  maxItems: number;
  maxNameLength: number;
  maxGroups: number;
  maxGroupLength: number;
}

/** What a roster set asks for, validated (RFC 6121 2.3, 2.5). */
export type RosterSetRequest =
  | { kind: 'update'; contact: Jid; edit: ItemEdit }
  | { kind: 'remove'; contact: Jid };

/**
 * Read the one item of a roster set. RFC 6121 2.3.3: exactly one item; a valid 'jid'; no empty,
 * duplicate or over-long group names. The 'subscription' attribute only means something when it is
 * 'remove'; 'ask' and 'approved' are server-managed, so what a client puts there is ignored (2.1.2.1,
 * 2.1.2.2, 2.1.2.5).
 */
export function parseRosterSet(query: Element, limits: RosterLimits): RosterSetRequest {
  const items = query.getChildElements();
  if (items.length !== 1 || items[0]!.name !== 'item') {
    throw new StanzaError('bad-request', 'A roster set carries exactly one <item/> (RFC 6121 2.3.3)');
  }
  const item = items[0]!;
  const rawJid = item.attrs.jid;
  if (!rawJid) throw new StanzaError('bad-request', "The roster item has no 'jid'");
  const contact = Jid.tryParse(rawJid);
  if (!contact) throw new StanzaError('jid-malformed', `'${rawJid}' is not a valid JID (RFC 7622)`);
  if (item.attrs.subscription === 'remove') return { kind: 'remove', contact };

  const name = item.attrs.name === undefined || item.attrs.name === '' ? null : item.attrs.name;
  if (name !== null && [...name].length > limits.maxNameLength) {
    throw new StanzaError('not-acceptable', `The item name is longer than ${limits.maxNameLength} characters`);
  }
  const groups: string[] = [];
  for (const g of item.getChildElements()) {
    if (g.name !== 'group') continue;
    const text = g.getText();
    if (text.trim() === '') throw new StanzaError('not-acceptable', 'A group name is empty (RFC 6121 2.3.3)');
    if ([...text].length > limits.maxGroupLength) {
      throw new StanzaError('not-acceptable', `A group name is longer than ${limits.maxGroupLength} characters`);
    }
    if (groups.includes(text)) throw new StanzaError('bad-request', `The group '${text}' is listed twice (RFC 6121 2.3.3)`);
    groups.push(text);
  }
  if (groups.length > limits.maxGroups) {
    throw new StanzaError('not-acceptable', `An item may be in at most ${limits.maxGroups} groups`);
  }
  return { kind: 'update', contact, edit: { name, groups } };
}

/** The <item/> of a roster result or push (RFC 6121 2.1.2). */
export function itemElement(item: RosterItem): Element {
  return xml('item', {
    jid: item.jid,
    name: item.name ?? undefined,
    subscription: item.subscription,
    ask: item.ask ? 'subscribe' : undefined,
    approved: item.approved ? 'true' : undefined,
  }, ...item.groups.map((g) => xml('group', {}, g)));
}

/** The <item/> of a push announcing a removal (RFC 6121 2.5.2). */
export function removedItemElement(jid: string): Element {
  return xml('item', { jid, subscription: 'remove' });
}

/** The <query/> of a roster result or push; `ver` only when versioning is in use. */
export function rosterQuery(children: Element[], ver?: string): Element {
  return xml('query', { xmlns: NS.ROSTER, ver }, ...children);
}
