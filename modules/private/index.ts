import { Jid, NS, StanzaError, defineModule, z, type JsonNode } from '../../server/api/index.js';
import { PrivateStorage } from './storage.js';

export default defineModule({
  name: 'private',
  description: 'XEP-0049 Private XML Storage: clients keep settings and bookmarks on the server, readable only by their owner.',
  xeps: [{ xep: 49, version: '1.2', status: 'complete' }],
  provides: ['private'],
  config: z.strictObject({
    max_item_bytes: z.int().min(1024).max(250000).default(65536)
      .describe('Largest stored element, in bytes of XML; bigger ones are refused with not-acceptable'),
    max_items: z.int().min(1).default(100)
      .describe('Most elements (distinct namespace and name) one account may store'),
  }),
  setup(ctx) {
    const db = ctx.storage.db;
    const storage = new PrivateStorage(ctx.storage.keyValue<JsonNode>('private'), ctx.config, (fn) => db.transaction(fn)());
    // Other modules may answer for single elements (the bookmarks module for legacy bookmarks).
    ctx.services.provide('private', storage);
    ctx.disco.addFeature(NS.PRIVATE, 'account');

    ctx.iq.handle({ type: 'get', xmlns: NS.PRIVATE, name: 'query', to: 'self' }, (iq) => storage.get(iq.from.bare, iq.payload));
    ctx.iq.handle({ type: 'set', xmlns: NS.PRIVATE, name: 'query', to: 'self' }, (iq) => { storage.set(iq.from.bare, iq.payload); });
    // XEP-0049 section 2.3 and 5: nobody but the owner reads or writes an account's private data.
    const forbidden = () => { throw new StanzaError('forbidden', 'Private XML storage belongs to its owner alone'); };
    ctx.iq.handle({ type: 'get', xmlns: NS.PRIVATE, name: 'query', to: 'account' }, forbidden);
    ctx.iq.handle({ type: 'set', xmlns: NS.PRIVATE, name: 'query', to: 'account' }, forbidden);

    ctx.events.on('account/deleted', ({ jid }) => storage.deleteAccount(Jid.parse(jid).bare));
  },
});
