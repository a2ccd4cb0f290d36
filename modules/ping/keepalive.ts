import type { Element, ModuleContext, Session, StreamError, StanzaError } from '../../server/api/index.js';

interface KeepaliveOptions {
  intervalMs: number;
  timeoutMs: number;
  ping(session: Session): Promise<Element>;
  timeoutError(): StreamError;
}

/**
 * XEP-0199 section 6 (server-to-client ping): a session that has sent nothing for `intervalMs`
 * gets a ping; no answer within `timeoutMs` ends it, so presence shows the truth and messages
 * stop going into a dead socket. An error answer still proves the client is alive.
 */
export function startKeepalive(ctx: ModuleContext<unknown>, o: KeepaliveOptions): void {
  const lastHeard = new WeakMap<Session, number>();
  const inFlight = new WeakSet<Session>();
  ctx.hooks.on('stanza/in', (event) => {
    if (event.origin) lastHeard.set(event.origin, Date.now());
  });
  ctx.events.on('session/bound', ({ session }) => { lastHeard.set(session, Date.now()); });
  const tick = Math.max(1000, Math.min(o.intervalMs, 30_000));
  ctx.timers.every(tick, () => {
    const now = Date.now();
    for (const session of ctx.sessions.all()) {
      if (!session.open || inFlight.has(session)) continue;
      const heard = lastHeard.get(session) ?? session.boundAt;
      if (now - heard < o.intervalMs) continue;
      inFlight.add(session);
      o.ping(session).then(
        () => { lastHeard.set(session, Date.now()); },
        (err: StanzaError) => {
          if (err.condition === 'remote-server-timeout') {
            ctx.log.info({ session: session.id }, 'keepalive ping unanswered; closing the session');
            session.close(o.timeoutError());
          } else {
            lastHeard.set(session, Date.now());
          }
        },
      ).finally(() => inFlight.delete(session));
    }
  });
}
