import { Jid, NS, Stage, StanzaError, defineModule } from '../../server/api/index.js';
import { activityOfClosedSession, logoutAnswer, uptimeAnswer } from './activity.js';
import { openLastActivityStore } from './store.js';

export default defineModule({
  name: 'last',
  description: 'XEP-0012 Last Activity: when an account last logged out, and how long the server has been up.',
  xeps: [{ xep: 12, version: '1.2', status: 'partial', note: 'an account\'s last logout is told only to the account itself until subscriptions can be checked' }],
  setup(ctx) {
    const store = openLastActivityStore(ctx.storage);
    ctx.disco.addFeature(NS.LAST);
    ctx.disco.addFeature(NS.LAST, 'account');

    ctx.iq.handle({ type: 'get', xmlns: NS.LAST, name: 'query', to: 'server' }, () => uptimeAnswer(ctx.server.startedAt));
    ctx.iq.handle({ type: 'get', xmlns: NS.LAST, name: 'query', to: 'self' }, (iq) => logoutAnswer(store, ctx.sessions, iq.from.bare));
    // XEP-0012 section 3 and 8: only those allowed to see the user's presence may learn it. Without
    // the roster's subscriptions to check, nobody but the account itself is.
    ctx.iq.handle({ type: 'get', xmlns: NS.LAST, name: 'query', to: 'account' }, async (iq) => {
      if (!(await ctx.accounts.exists(iq.to.bareJid()))) throw new StanzaError('service-unavailable', 'No such user');
      throw new StanzaError('forbidden', 'The last activity of an account is only told to the account itself');
    });

    // Observe only: an unavailable broadcast presence is a logout, with the status it carries.
    ctx.hooks.on('stanza/in', (event) => {
      if (event.kind !== 'presence' || event.type !== 'unavailable' || !event.toImplicit || !event.origin) return;
      store.record(event.from.bare, { at: Date.now(), status: event.stanza.getChildText('status') ?? '' });
    }, { stage: Stage.HANDLE });
    // A session that ends, cleanly or not, is a logout too.
    ctx.events.on('session/closed', ({ session }) => store.record(session.jid.bare, activityOfClosedSession(session)));
    ctx.events.on('account/deleted', ({ jid }) => store.delete(Jid.parse(jid).bare));
  },
});
