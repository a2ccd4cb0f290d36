import type { Logger } from 'pino';
import type { EventFn, EventName, ParleyEvents } from '../api/events.js';

interface Listener { fn: EventFn<EventName>; module: string; failClosed: boolean }

export class EventFailedClosed extends Error {
  constructor(readonly module: string, readonly event: string, cause: unknown) {
    super(`${module} failed on ${event}`, { cause });
  }
}

/**
 * Notifications. Listeners run in registration order; an ordinary listener's failure is logged and
 * ignored, a `failClosed` listener's failure rejects emit() so the caller can refuse the stanza.
 */
export class EventBus {
  private readonly listeners = new Map<EventName, Listener[]>();

  constructor(private readonly log: Logger) {}

  on<N extends EventName>(name: N, fn: EventFn<N>, module: string, failClosed = false): () => void {
    const entry: Listener = { fn: fn as EventFn<EventName>, module, failClosed };
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), entry]);
    return () => this.listeners.set(name, (this.listeners.get(name) ?? []).filter((l) => l !== entry));
  }

  has(name: EventName): boolean {
    return (this.listeners.get(name)?.length ?? 0) > 0;
  }

  /**
   * Like emit(), but synchronous while the listeners are: a promise only when one of them returns
   * one. The router uses it for `stanza/audit`, which every stanza passes and most listeners
   * answer at once (the archive only waits for messages with content).
   */
  run<N extends EventName>(name: N, payload: ParleyEvents[N]): void | Promise<void> {
    const list = this.listeners.get(name);
    if (!list) return;
    let closedFailure: EventFailedClosed | undefined;
    for (let i = 0; i < list.length; i++) {
      const l = list[i]!;
      let r: void | Promise<void>;
      try {
        r = l.fn(payload as ParleyEvents[EventName]);
      } catch (err) {
        this.log.error({ module: l.module, event: name, err }, 'event listener failed');
        if (l.failClosed && !closedFailure) closedFailure = new EventFailedClosed(l.module, name, err);
        continue;
      }
      if (r instanceof Promise) return this.finish(name, payload, list, i, r, closedFailure);
    }
    if (closedFailure) throw closedFailure;
  }

  private async finish<N extends EventName>(name: N, payload: ParleyEvents[N], list: Listener[], at: number, pending: Promise<void>, failure: EventFailedClosed | undefined): Promise<void> {
    let closedFailure = failure;
    for (let i = at; i < list.length; i++) {
      const l = list[i]!;
      try {
        await (i === at ? pending : l.fn(payload as ParleyEvents[EventName]));
      } catch (err) {
        this.log.error({ module: l.module, event: name, err }, 'event listener failed');
        if (l.failClosed && !closedFailure) closedFailure = new EventFailedClosed(l.module, name, err);
      }
    }
    if (closedFailure) throw closedFailure;
  }

  /** Resolves when every listener has finished; rejects with EventFailedClosed if a failClosed listener failed. */
  async emit<N extends EventName>(name: N, payload: ParleyEvents[N]): Promise<void> {
    const list = this.listeners.get(name);
    if (!list) return;
    let closedFailure: EventFailedClosed | undefined;
    for (const l of list) {
      try {
        await l.fn(payload as ParleyEvents[EventName]);
      } catch (err) {
        this.log.error({ module: l.module, event: name, err }, 'event listener failed');
        if (l.failClosed && !closedFailure) closedFailure = new EventFailedClosed(l.module, name, err);
      }
    }
    if (closedFailure) throw closedFailure;
  }
}
