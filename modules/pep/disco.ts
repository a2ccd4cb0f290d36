import {
  NS, handled, resultReply, xml,
  type Element, type ModuleContext, type StanzaEvent, type Verdict,
} from '../../server/api/index.js';
import { PUBSUB } from './config.js';
import type { PersonalEventing } from './pep.js';

type Ctx = Pick<ModuleContext, 'router' | 'accounts'>;

/**
 * XEP-0163 / XEP-0060 5.2 and 5.3: disco#items of an account lists the nodes the requester may
 * read; disco#info of one of them says it is a leaf node.
 *
 * The disco module answers account disco#items with an empty list and every node query with
 * item-not-found, and IQ handlers are one per key, so these queries are taken at `stanza/in`
 * (after policy) until the module API lets a module add disco items and nodes for accounts.
 * Accounts without nodes are left to the disco module (and the core's no-such-user answer).
 */
export function discoNodes(ctx: Ctx, pep: PersonalEventing) {
  return (event: StanzaEvent): Verdict | undefined => {
    if (event.kind !== 'iq' || event.type !== 'get' || event.toImplicit) return undefined;
    if (event.to.local === '' || event.to.resource !== '' || !ctx.accounts.isLocalDomain(event.to.domain)) return undefined;
    const query = event.stanza.getChildElements()[0];
    if (!query || query.name !== 'query') return undefined;
    const ns = query.getNS();
    if (ns !== NS.DISCO_ITEMS && ns !== NS.DISCO_INFO) return undefined;
    const owner = event.to.bareJid();
    const readable = pep.nodes(owner).filter((n) => pep.mayRead(owner, n.config, event.from));
    const node = query.attrs.node;
    let payload: Element;
    if (ns === NS.DISCO_ITEMS && !node) {
      if (pep.nodes(owner).length === 0) return undefined;
      payload = xml('query', { xmlns: NS.DISCO_ITEMS }, ...readable.map((n) => xml('item', { jid: owner.bare, node: n.node, name: n.config.title || undefined })));
    } else if (ns === NS.DISCO_INFO && node && readable.some((n) => n.node === node)) {
      payload = xml('query', { xmlns: NS.DISCO_INFO, node },
        xml('identity', { category: 'pubsub', type: 'leaf' }),
        xml('feature', { var: PUBSUB }));
    } else {
      return undefined;
    }
    ctx.router.reply(event, resultReply(event.stanza, payload));
    return handled();
  };
}
