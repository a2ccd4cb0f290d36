import { defineModule, Jid, type JsonNode } from '../../server/api/index.js';
import { BOOKMARKS, LEGACY } from './convert.js';
import { LegacyBookmarks } from './legacy.js';

export default defineModule({
  name: 'bookmarks',
  description: 'XEP-0402 bookmarks in PEP, private to their owner, and the same bookmarks as legacy XEP-0048 private storage for older clients.',
  xeps: [
    { xep: 402, status: 'complete', note: 'private node defaults, and urn:xmpp:bookmarks:1#compat with private XML storage' },
    { xep: 48, version: '1.2', status: 'complete', note: 'as a view of the XEP-0402 bookmarks in private storage (XEP-0049)' },
  ],
  requires: ['pep', 'private'],
  setup(ctx) {
    const pep = ctx.services.use('pep');
    // XEP-0402 section 3 (and XEP-0223): private, as many items as allowed, not pushed on presence,
    // even when a client publishes without publish-options.
    pep.setNodeDefaults(BOOKMARKS, { accessModel: 'whitelist', maxItems: Number.MAX_SAFE_INTEGER, sendLastPublishedItem: 'never', persistItems: true });
    // The legacy PEP form of XEP-0048 is private data too.
    pep.setNodeDefaults(LEGACY, { accessModel: 'whitelist', sendLastPublishedItem: 'never', persistItems: true });

    const extras = ctx.storage.keyValue<JsonNode[]>('legacy');
    ctx.services.use('private').claim(LEGACY, 'storage', new LegacyBookmarks(ctx, pep, extras));
    ctx.disco.addFeature(`${BOOKMARKS}#compat`, 'account');

    ctx.events.on('account/deleted', ({ jid }) => extras.clear(Jid.parse(jid).bare));
  },
});
