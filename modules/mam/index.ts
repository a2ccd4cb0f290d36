import { defineModule, Jid, z } from '../../server/api/index.js';
import type {} from '../roster/service.js'; // the 'roster' service's type, used when the roster module runs
import { deleteHistoryCommand } from './delete-command.js';
import { archiveMetadata, getPreferences, queryArchive, queryFormHandler, setPreferences } from './handlers.js';
import { ArchivePreferences, rosterLookup, type Preferences } from './prefs.js';
import { MAM, MAM_EXTENDED, MAM_GROUPCHAT_FIELD, STANZA_ID } from './protocol.js';

export default defineModule({
  name: 'mam',
  description: 'XEP-0313 Message Archive Management: users page through their own history (kept by the archive module) from any device, choose what enters it, and delete from it.',
  xeps: [
    { xep: 313, status: 'complete', note: 'user archives with urn:xmpp:mam:2#extended (before-id, after-id, ids, flip-page, metadata); no group chat in user archives' },
    { xep: 59, version: '1.0', status: 'complete', note: 'max, after, before (empty: last page), index and count in MAM queries' },
    { xep: 441, version: '0.2.0', status: 'complete', note: 'preferences decide what enters the user\'s view, never the compliance record' },
    { xep: 297, version: '1.0', status: 'complete', note: 'archived messages forwarded in results' },
  ],
  requires: ['archive', 'adhoc'],
  config: z.strictObject({
    max_page: z.int().min(1).max(10000).default(250)
      .describe('Most messages in one page of results; a larger RSM <max/> is cut to this, and a query without <max/> gets this many'),
    default_preference: z.enum(['always', 'never', 'roster']).default('always')
      .describe('Which messages enter a user\'s history until they choose (XEP-0441 default): always, never, or roster (with roster contacts only)'),
  }),
  setup(ctx) {
    const archive = ctx.services.use('archive');
    // The roster module may load after this one; it is looked up when a message needs it.
    const roster = () => ctx.services.find('roster');
    const prefs = new ArchivePreferences(ctx.storage.keyValue<Preferences>('prefs'), ctx.config.default_preference, rosterLookup(roster),
      (err, owner) => ctx.log.error({ err, owner }, 'archiving preferences could not be applied; the message is kept in the history'));
    ctx.onUnload(archive.setViewFilter(prefs.keepsInView));

    // XEP-0313 section 7 on the archive's address, the account; XEP-0359 because result ids are stanza-ids.
    for (const feature of [MAM, MAM_EXTENDED, MAM_GROUPCHAT_FIELD, STANZA_ID]) ctx.disco.addFeature(feature, 'account');

    // 'account' answers the owner (with or without 'to') and refuses everyone else with forbidden.
    ctx.iq.handle({ type: 'set', xmlns: MAM, name: 'query', to: 'account' }, queryArchive(ctx, archive, ctx.config.max_page));
    ctx.iq.handle({ type: 'get', xmlns: MAM, name: 'query', to: 'account' }, queryFormHandler);
    ctx.iq.handle({ type: 'get', xmlns: MAM, name: 'metadata', to: 'account' }, archiveMetadata(archive));
    ctx.iq.handle({ type: 'get', xmlns: MAM, name: 'prefs', to: 'account' }, getPreferences(prefs));
    ctx.iq.handle({ type: 'set', xmlns: MAM, name: 'prefs', to: 'account' }, setPreferences(prefs, () => roster() !== undefined));

    const adhoc = ctx.services.use('adhoc');
    ctx.onUnload(adhoc.register(deleteHistoryCommand(adhoc, archive)));

    // A deleted account's history and choices go with it, so a new account of the same name starts empty. The records stay.
    ctx.events.on('account/deleted', async ({ jid }) => {
      const owner = Jid.tryParse(jid)?.bare ?? jid;
      prefs.forget(owner);
      await archive.hideFromHistory(owner, {});
    });
  },
});
