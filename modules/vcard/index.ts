import { Jid, NS, Stage, StanzaError, defineModule, xml, z } from '../../server/api/index.js';
import { announceAvatar, stampAvatarHash } from './avatar.js';
import { openVCardStore } from './store.js';
import { VCards } from './vcards.js';

export default defineModule({
  name: 'vcard',
  description: 'XEP-0054 vCards for every account, merged with directory data, and XEP-0153 avatar hashes in presence.',
  xeps: [
    { xep: 54, version: '1.3.0', status: 'complete' },
    { xep: 153, version: '1.1', status: 'partial', note: 'server-computed hash in presence; new hashes reach the user\'s own resources, contacts get them with the client\'s next presence' },
  ],
  provides: ['vcard'],
  config: z.strictObject({
    max_bytes: z.int().min(1024).max(250000).default(200000)
      .describe('Largest vCard accepted, in bytes of XML (photo included); bigger ones are refused with not-acceptable. Below the core\'s max_stanza_bytes'),
  }),
  setup(ctx) {
    const vcards = new VCards(openVCardStore(ctx.storage), ctx.log, (bare, hash) => announceAvatar(ctx, bare, hash));
    ctx.services.provide('vcard', vcards);
    ctx.disco.addFeature(NS.VCARD);
    ctx.disco.addFeature(NS.VCARD, 'account');

    // XEP-0054 3.1: one's own vCard; none yet is an empty <vCard/>.
    ctx.iq.handle({ type: 'get', xmlns: NS.VCARD, name: 'vCard', to: 'self' },
      async (iq) => (await vcards.get(iq.from.bare)) ?? xml('vCard', { xmlns: NS.VCARD }));

    // XEP-0054 3.3: another user's vCard, answered by the server. No vCard and no such user get
    // the same error, so the answer does not tell which accounts exist.
    ctx.iq.handle({ type: 'get', xmlns: NS.VCARD, name: 'vCard', to: 'account' }, async (iq) => {
      const card = (await ctx.accounts.exists(iq.to.bareJid())) ? await vcards.get(iq.to.bare) : null;
      if (!card) throw new StanzaError('service-unavailable', 'No vCard for this address');
      return card;
    });

    // XEP-0054 3.2: replace one's own vCard.
    ctx.iq.handle({ type: 'set', xmlns: NS.VCARD, name: 'vCard', to: 'self' }, async (iq) => {
      const size = Buffer.byteLength(iq.payload.toString());
      if (size > ctx.config.max_bytes) {
        throw new StanzaError('not-acceptable', `The vCard is ${size} bytes; this server accepts at most ${ctx.config.max_bytes} (use a smaller photo)`);
      }
      await vcards.update(iq.from.bare, iq.payload);
    });
    ctx.iq.handle({ type: 'set', xmlns: NS.VCARD, name: 'vCard', to: 'account' }, () => {
      throw new StanzaError('forbidden', 'Only the owner of a vCard can change it');
    });

    ctx.hooks.on('stanza/in', (event) => stampAvatarHash(ctx, vcards, event), { stage: Stage.HANDLE });
    ctx.events.on('session/closed', ({ session }) => {
      if (ctx.sessions.ofAccount(session.jid.bare).length === 0) vcards.forget(session.jid.bare);
    });
    ctx.events.on('account/deleted', ({ jid }) => vcards.deleteAccount(Jid.parse(jid).bare));
  },
});
