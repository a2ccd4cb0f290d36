import { NS, StanzaError, cloneElement, xml, type DiscoItem, type DiscoRegistry, type DiscoTarget, type Element } from '../../server/api/index.js';

/** XEP-0030 section 3.1: identities, features and (XEP-0128) extension forms of an entity. */
export function infoResponse(disco: DiscoRegistry, target: DiscoTarget, node: string | undefined): Element {
  // Nodes are answered by the modules that own them; an unknown node is item-not-found (XEP-0030 3.2).
  if (node) throw new StanzaError('item-not-found', `no such node: ${node}`);
  return xml('query', { xmlns: NS.DISCO_INFO },
    ...disco.identities(target).map((i) => xml('identity', { category: i.category, type: i.type, name: i.name })),
    ...disco.features(target).map((f) => xml('feature', { var: f })),
    ...disco.extensions(target).map((form) => cloneElement(form)));
}

/** XEP-0030 section 4.1: the items an entity lists. */
export function itemsResponse(items: readonly DiscoItem[], node: string | undefined): Element {
  if (node) throw new StanzaError('item-not-found', `no such node: ${node}`);
  return xml('query', { xmlns: NS.DISCO_ITEMS }, ...items.map((i) => xml('item', { jid: i.jid, name: i.name, node: i.node })));
}
