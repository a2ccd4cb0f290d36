import { defineModule, Jid, NS, Stage, z } from '../../server/api/index.js';
import { Blocklists } from './blocklists.js';
import { registerBlockingCommands } from './commands.js';
import { blockingGuard, blockingOutFilter } from './enforcement.js';
import { openBlocklistStore } from './store.js';

export default defineModule({
  name: 'blocking',
  description: 'XEP-0191 Blocking Command: users block JIDs, accounts or whole domains; nothing passes either way until they unblock.',
  xeps: [{ xep: 191, version: '1.3', status: 'complete' }],
  config: z.strictObject({
    max_items: z.number().int().min(1).default(1000).describe('JIDs one account may block; more gets resource-constraint'),
  }),
  setup(ctx) {
    const lists = new Blocklists(openBlocklistStore(ctx.storage), ctx.config.max_items);
    const deps = { lists, isLocalDomain: (domain: string) => ctx.accounts.isLocalDomain(domain) };

    // Section 3.1 asks the server; clients also ask their own account, so both answer.
    ctx.disco.addFeature(NS.BLOCKING);
    ctx.disco.addFeature(NS.BLOCKING, 'account');
    registerBlockingCommands(ctx, lists);
    ctx.hooks.on('stanza/in', blockingGuard(deps), { stage: Stage.GUARD });
    ctx.hooks.on('stanza/out', blockingOutFilter(deps), { stage: Stage.GUARD });

    ctx.events.on('account/deleted', ({ jid }) => { lists.unblockAll(Jid.tryParse(jid)?.bare ?? jid); });
  },
});
