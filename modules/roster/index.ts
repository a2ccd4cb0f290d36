import { defineModule, Jid, NS, xml, z } from '../../server/api/index.js';
import { rosterGet, rosterSet } from './queries.js';
import { Rosters } from './roster.js';
import { openRosterStore } from './store.js';

export default defineModule({
  name: 'roster',
  description: 'RFC 6121 section 2 rosters with versioning and pushes; the state behind presence subscriptions.',
  provides: ['roster'],
  xeps: [{ xep: 237, version: '1.3', status: 'complete', note: 'roster versioning as merged into RFC 6121 2.6' }],
  config: z.strictObject({
    max_items: z.number().int().positive().default(1000).describe('Most items a roster may hold; a roster set beyond it gets resource-constraint'),
    max_name_length: z.number().int().positive().default(256).describe('Longest item name (characters); longer gets not-acceptable'),
    max_groups_per_item: z.number().int().positive().default(32).describe('Most groups one item may be in; more gets not-acceptable'),
    max_group_length: z.number().int().positive().default(256).describe('Longest group name (characters); longer gets not-acceptable'),
  }),
  setup(ctx) {
    const limits = {
      maxItems: ctx.config.max_items,
      maxNameLength: ctx.config.max_name_length,
      maxGroups: ctx.config.max_groups_per_item,
      maxGroupLength: ctx.config.max_group_length,
    };
    const rosters = new Rosters(ctx, openRosterStore(ctx), limits);
    ctx.services.provide('roster', rosters);

    // RFC 6121 2.6.1: roster versioning is announced in the stream features.
    ctx.stream.addFeature(xml('ver', { xmlns: NS.ROSTER_VER }));
    // The roster is the user's own: another account's roster answers service-unavailable.
    ctx.iq.handle({ type: 'get', xmlns: NS.ROSTER, name: 'query', to: 'self' }, rosterGet(rosters));
    ctx.iq.handle({ type: 'set', xmlns: NS.ROSTER, name: 'query', to: 'self' }, rosterSet(rosters, limits));

    ctx.events.on('account/deleted', async ({ jid }) => {
      const owner = Jid.tryParse(jid);
      if (owner) await rosters.forgetAccount(owner.bareJid());
    });
  },
});
