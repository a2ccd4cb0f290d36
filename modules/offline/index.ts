import {
  defineModule, duration, handled, block, Jid, NS, Stage, StanzaError, z, type Session, type StanzaEvent,
} from '../../server/api/index.js';
import { worthStoringOffline } from './policy.js';
import { replayOfflineMessages } from './replay.js';
import { openOfflineStore } from './store.js';

/** Expired messages are purged every `max_age`, but at least once an hour. */
const MAX_PURGE_INTERVAL_MS = 60 * 60 * 1000;

export default defineModule({
  name: 'offline',
  description: 'XEP-0160 offline messages: chat and normal messages for an account with no available resource are stored and delivered, stamped (XEP-0203), at its next login.',
  xeps: [
    { xep: 160, version: '1.0.1', status: 'complete' },
    { xep: 203, version: '2.0', status: 'complete', note: 'delay stamps on messages delivered from offline storage' },
    { xep: 334, version: '0.3.0', status: 'partial', note: 'store, no-store and no-permanent-store decide offline storage' },
  ],
  config: z.strictObject({
    max_messages_per_user: z.number().int().min(1).default(1000)
      .describe('Messages kept for one account; when full, senders get service-unavailable'),
    max_age: duration('30d').describe('Stored messages older than this are deleted undelivered; 0 keeps them until delivered'),
  }),
  setup(ctx) {
    const { max_messages_per_user: limit, max_age: maxAgeMs } = ctx.config;
    const store = openOfflineStore(ctx.storage);
    ctx.disco.addFeature(NS.OFFLINE);

    // RFC 6121 8.5.2.2.1 / XEP-0160 section 3: the message module passes a message no resource
    // could take; store it, or refuse it when the account's storage is full.
    const storeUndelivered = (event: StanzaEvent) => {
      if (event.kind !== 'message' || !worthStoringOffline(event.stanza, event.type)) return undefined;
      const owner = event.to.bare;
      if (!store.add(owner, event.from.full, Date.now(), event.stanza, limit)) {
        ctx.log.info({ stanzaId: event.id, owner, limit }, 'offline storage full; message refused');
        return block(new StanzaError('service-unavailable', `The offline message storage of ${owner} is full`));
      }
      return handled();
    };
    ctx.hooks.on('message/bare', storeUndelivered, { stage: Stage.FALLBACK });
    ctx.hooks.on('message/full', storeUndelivered, { stage: Stage.FALLBACK });

    // XEP-0160 section 3: stored messages go to the first resource that sends non-negative
    // available presence: initial presence, or a later one that raises a negative priority.
    const lastPriority = new WeakMap<Session, number>();
    ctx.events.on('session/available', ({ session, initial }) => {
      const before = lastPriority.get(session);
      lastPriority.set(session, session.priority);
      if (session.priority < 0) return;
      if (initial || before === undefined || before < 0) replayOfflineMessages(ctx, store, session, maxAgeMs);
    });

    ctx.events.on('account/deleted', ({ jid }) => {
      const n = store.removeOwner(Jid.tryParse(jid)?.bare ?? jid);
      if (n > 0) ctx.log.info({ jid, removed: n }, 'offline messages of a deleted account removed');
    });

    if (maxAgeMs > 0) {
      const purgeExpired = () => {
        const n = store.purgeOlderThan(Date.now() - maxAgeMs);
        if (n > 0) ctx.log.info({ removed: n }, 'expired offline messages purged');
      };
      purgeExpired();
      ctx.timers.every(Math.max(1000, Math.min(maxAgeMs, MAX_PURGE_INTERVAL_MS)), purgeExpired);
    }
  },
});
