import { defineModule, NS, Stage, xml } from '../../server/api/index.js';
import { Broadcaster } from './broadcast.js';
import { PresenceRouting } from './routing.js';
import { SubscriptionFlow } from './subscriptions.js';

export default defineModule({
  name: 'presence',
  description: 'RFC 6121 sections 3 and 4: presence subscriptions, broadcast, probes and directed presence.',
  requires: ['roster'],
  setup(ctx) {
    const roster = ctx.services.use('roster');
    const presence = new Broadcaster(ctx, roster);
    const subscriptions = new SubscriptionFlow(ctx, roster, presence);
    const routing = new PresenceRouting(ctx, roster, presence, subscriptions);

    // RFC 6121 3.4: subscription pre-approval is supported.
    ctx.stream.addFeature(xml('sub', { xmlns: NS.PRE_APPROVAL }));

    ctx.hooks.on('presence/broadcast', routing.broadcast);
    ctx.hooks.on('presence/bare', routing.toAccount);
    ctx.hooks.on('presence/full', routing.toResource);
    // Before federation (HANDLE): the sender's side of subscriptions to remote contacts.
    ctx.hooks.on('route/remote', routing.toRemote, { stage: Stage.POLICY });

    // The core answers a request to a local account that does not exist with 'unsubscribed'
    // (RFC 6121 3.1.3) without calling presence/bare; the sender's side still records it first,
    // so the answer clears the pending ask with a roster push the client can show.
    // Synchronous for every other stanza: a hook that returns a promise makes the whole pipeline
    // wait for it, which would stop a sender's messages from being pipelined (see c2s.ts).
    ctx.hooks.on('stanza/in', (event) => {
      if (event.kind !== 'presence' || event.type !== 'subscribe' || !event.origin) return;
      if (!event.to.local || !ctx.accounts.isLocalDomain(event.to.domain)) return;
      const to = event.to.bareJid();
      return ctx.accounts.exists(to).then((exists) => {
        if (!exists) subscriptions.outbound(event.from.bareJid(), to, 'subscribe');
      });
    });

    ctx.events.on('session/available', ({ session, initial }) => {
      if (initial) routing.deliverPendingRequests(session);
    });
    ctx.events.on('session/closed', ({ session }) => presence.sessionClosed(session));
    ctx.events.on('server/stopping', () => { presence.stopping = true; });
    ctx.events.on('roster/removed', ({ owner, item }) => routing.afterRemoval(owner, item));
    // Shared groups (the directory's departments) put people into each other's rosters as 'both'.
    ctx.events.on('roster/shared-changed', ({ owner, contact, before, after }) => routing.afterSharedChange(owner, contact, before, after));
  },
});
