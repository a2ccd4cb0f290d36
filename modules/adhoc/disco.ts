import {
  NS, StanzaError, block, handled, resultReply, xml,
  type Element, type ModuleContext, type StanzaEvent, type Verdict,
} from '../../server/api/index.js';
import { COMMANDS, type Commands } from './commands.js';

type Ctx = Pick<ModuleContext, 'router' | 'accounts'>;

/**
 * XEP-0050 section 2: disco#items of the commands node lists what the requester may run, disco#info
 * of the commands node and of each command node says what they are.
 *
 * The disco module answers every node query itself with item-not-found, and IQ handlers are one
 * per key, so these queries are taken at `stanza/in` (after policy) until the module API lets a
 * module answer disco queries for its own nodes.
 */
export function discoNodes(ctx: Ctx, commands: Commands) {
  return (event: StanzaEvent): Verdict | undefined => {
    if (event.kind !== 'iq' || event.type !== 'get' || event.toImplicit) return undefined;
    if (event.to.local !== '' || !ctx.accounts.isLocalDomain(event.to.domain)) return undefined;
    const query = event.stanza.getChildElements()[0];
    const node = query?.attrs.node;
    if (!query || !node || query.name !== 'query') return undefined;
    const ns = query.getNS();
    let payload: Element;
    if (ns === NS.DISCO_ITEMS && node === COMMANDS) {
      payload = xml('query', { xmlns: NS.DISCO_ITEMS, node },
        ...commands.visibleTo(event.from).map((c) => xml('item', { jid: event.to.full, node: c.node, name: c.name })));
    } else if (ns === NS.DISCO_INFO && node === COMMANDS) {
      payload = xml('query', { xmlns: NS.DISCO_INFO, node },
        xml('identity', { category: 'automation', type: 'command-list', name: 'Commands' }));
    } else if (ns === NS.DISCO_INFO && commands.get(node)) {
      const command = commands.get(node)!;
      if (!commands.mayRun(command, event.from)) return block(new StanzaError('forbidden', 'You may not run this command'));
      payload = xml('query', { xmlns: NS.DISCO_INFO, node },
        xml('identity', { category: 'automation', type: 'command-node', name: command.name }),
        xml('feature', { var: COMMANDS }),
        xml('feature', { var: NS.DATA_FORMS }));
    } else {
      return undefined;
    }
    ctx.router.reply(event, resultReply(event.stanza, payload));
    return handled();
  };
}
