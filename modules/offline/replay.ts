import { NS, delayStamp, type Element, type ModuleContext, type Session } from '../../server/api/index.js';
import type { OfflineStore } from './store.js';

/** Messages are read in batches so a large backlog is never all in memory at once. */
const BATCH = 200;

/**
 * XEP-0160 section 3: deliver the stored messages of the session's account to that session, oldest
 * first, each with a XEP-0203 delay stamp. A message is deleted only after `deliver` took it; the
 * first refusal (the session closed) stops the replay and keeps the rest for the next login.
 *
 * Nothing here awaits, so no other stanza, close or login can run between a delivery and the
 * deletion that follows it. A crash between the write and the delete delivers a message twice at
 * the next login rather than losing it.
 */
export function replayOfflineMessages(ctx: ModuleContext<unknown>, store: OfflineStore, session: Session, maxAgeMs: number): void {
  const owner = session.jid.bare;
  const notBefore = maxAgeMs > 0 ? Date.now() - maxAgeMs : 0;
  let afterId = 0;
  let delivered = 0;
  for (;;) {
    const batch = store.pending(owner, notBefore, afterId, BATCH);
    if (batch.length === 0) break;
    const done: number[] = [];
    let stopped = false;
    for (const m of batch) {
      if (!session.open || !ctx.router.deliver(session, withOfflineDelay(m.stanza, session.jid.domain, m.storedAt))) {
        stopped = true;
        break;
      }
      done.push(m.id);
    }
    store.remove(done);
    delivered += done.length;
    if (stopped) {
      ctx.log.info({ session: session.id, delivered }, 'offline replay stopped: the session closed; the rest stays stored');
      return;
    }
    afterId = batch[batch.length - 1]!.id;
  }
  if (delivered > 0) ctx.log.info({ session: session.id, delivered }, 'offline messages delivered');
}

/**
 * XEP-0203: mark the message as stored by this server. A delay claiming to come from this server
 * that the sender put in itself is removed first, so only the server's own stamp carries its name.
 */
export function withOfflineDelay(stanza: Element, domain: string, storedAt: number): Element {
  for (const d of stanza.getChildren('delay', NS.DELAY)) {
    if (d.attrs.from === domain) stanza.remove(d);
  }
  stanza.append(delayStamp(domain, new Date(storedAt), 'Offline Storage'));
  return stanza;
}
