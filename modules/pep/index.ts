import { defineModule, Jid, Stage, z } from '../../server/api/index.js';
import { PUBSUB, PUBSUB_OWNER } from './config.js';
import { discoNodes } from './disco.js';
import { PersonalEventing } from './pep.js';
import { ownerForeign, ownerGet, ownerSet, pubsubGet, pubsubSet, pubsubSetForeign } from './protocol.js';
import { openPepStore } from './store.js';

/** XEP-0060 section 10 features this PEP service supports, announced on every account (XEP-0163 section 6). */
const FEATURES = [
  'access-open', 'access-presence', 'access-whitelist', 'auto-create', 'auto-subscribe', 'config-node',
  'create-and-configure', 'create-nodes', 'delete-nodes', 'filtered-notifications',
  'item-ids', 'last-published', 'multi-items', 'persistent-items', 'presence-notifications', 'publish',
  'publish-options', 'purge-nodes', 'retract-items', 'retrieve-affiliations', 'retrieve-default', 'retrieve-items',
];

export default defineModule({
  name: 'pep',
  description: 'XEP-0163 Personal Eventing Protocol: avatars, nicknames, bookmarks and other personal data published to contacts.',
  xeps: [
    { xep: 163, status: 'complete' },
    { xep: 60, status: 'partial', note: 'the subset PEP needs: publish (with publish-options), retract, items, create, configure, delete, purge; no explicit subscriptions' },
    { xep: 223, status: 'complete', note: 'private (whitelist) nodes with publish-options preconditions' },
    { xep: 84, version: '1.1.4', status: 'complete', note: 'avatar data and metadata nodes' },
    { xep: 172, version: '1.1', status: 'complete', note: 'nickname node' },
  ],
  requires: ['roster', 'caps'],
  provides: ['pep'],
  config: z.strictObject({
    max_items: z.int().min(1).max(10000).default(1000).describe('Highest pubsub#max_items a node may have; "max" in publish-options means this'),
    max_nodes: z.int().min(1).default(100).describe('Most nodes one account may have'),
    max_item_bytes: z.int().min(1024).default(262144).describe('Largest item payload in bytes of XML (avatars are the big ones)'),
  }),
  setup(ctx) {
    const pep = new PersonalEventing(ctx, openPepStore(ctx.storage), ctx.services.use('roster'), ctx.services.use('caps'), {
      maxItems: ctx.config.max_items, maxNodes: ctx.config.max_nodes, maxItemBytes: ctx.config.max_item_bytes,
    });
    ctx.services.provide('pep', pep);

    ctx.disco.addIdentity({ category: 'pubsub', type: 'pep' }, 'account');
    for (const f of FEATURES) ctx.disco.addFeature(`${PUBSUB}#${f}`, 'account');

    ctx.iq.handle({ type: 'set', xmlns: PUBSUB, name: 'pubsub', to: 'self' }, pubsubSet(pep));
    ctx.iq.handle({ type: 'set', xmlns: PUBSUB, name: 'pubsub', to: 'account' }, pubsubSetForeign());
    ctx.iq.handle({ type: 'get', xmlns: PUBSUB, name: 'pubsub', to: ['self', 'account'] }, pubsubGet(pep));
    ctx.iq.handle({ type: 'get', xmlns: PUBSUB_OWNER, name: 'pubsub', to: 'self' }, ownerGet(pep));
    ctx.iq.handle({ type: 'set', xmlns: PUBSUB_OWNER, name: 'pubsub', to: 'self' }, ownerSet(pep));
    ctx.iq.handle({ type: 'get', xmlns: PUBSUB_OWNER, name: 'pubsub', to: 'account' }, ownerForeign());
    ctx.iq.handle({ type: 'set', xmlns: PUBSUB_OWNER, name: 'pubsub', to: 'account' }, ownerForeign());
    ctx.hooks.on('stanza/in', discoNodes(ctx, pep), { stage: Stage.HANDLE });

    // XEP-0163 4.3.3: the newest items when a contact comes online (its caps tell what it wants) ...
    ctx.events.on('caps/changed', ({ session, features }) => { if (features.size > 0) pep.capsKnown(session); });
    // ... and when the owner grants a subscription.
    ctx.hooks.on('stanza/in', pep.noteApproval, { stage: Stage.HANDLE });

    ctx.events.on('account/deleted', ({ jid }) => pep.forgetAccount(Jid.parse(jid).bare));
  },
});
