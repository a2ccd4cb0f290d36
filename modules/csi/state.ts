import { handled, type Element, type ModuleContext, type OutgoingEvent, type Session, type Verdict } from '../../server/api/index.js';
import { disposition } from './importance.js';
import { HeldStanzas } from './queue.js';

type Ctx = Pick<ModuleContext, 'router' | 'log'>;

interface ClientState {
  held: HeldStanzas;
  /** True while held stanzas are being written: they pass the hook this time. */
  flushing: boolean;
}

/**
 * XEP-0352 state of every session that said `<inactive/>`. Sessions start (and resume) active
 * (section 4); only inactive ones have an entry.
 */
export class ClientStates {
  private readonly inactive = new Map<Session, ClientState>();

  constructor(private readonly ctx: Ctx, private readonly maxHeld: number) {}

  isInactive(session: Session): boolean {
    return this.inactive.has(session);
  }

  setInactive(session: Session): void {
    if (!this.inactive.has(session)) this.inactive.set(session, { held: new HeldStanzas(), flushing: false });
  }

  /** `<active/>`: everything held goes out now, before anything the client sends next is processed (section 5.1). */
  setActive(session: Session): void {
    const state = this.inactive.get(session);
    if (!state) return;
    this.flush(session, state);
    this.inactive.delete(session);
  }

  /**
   * `stanza/out`: while inactive, unimportant stanzas wait; an important one first releases what
   * waits (order is kept), then goes itself. A full queue is released as a whole.
   */
  readonly outgoing = (event: OutgoingEvent): Verdict | undefined => {
    const state = this.inactive.get(event.session);
    if (!state || state.flushing) return undefined;
    const d = disposition(event.stanza);
    if (!d.hold) {
      this.flush(event.session, state);
      return undefined;
    }
    state.held.add(event.stanza, d.key);
    if (state.held.size > this.maxHeld) this.flush(event.session, state);
    return handled();
  };

  /**
   * The session ended. Held presence and chat states are stale and go nowhere (RFC 6121 does not
   * keep presence for resources that left); held messages (receipts, markers) are handed to the
   * account's other resources as RFC 6121 8.5.3.2.1 does for a resource that is gone.
   */
  closed(session: Session): void {
    const state = this.inactive.get(session);
    if (!state) return;
    this.inactive.delete(session);
    const bare = session.jid.bareJid();
    let dropped = 0;
    for (const stanza of state.held.take()) {
      if (stanza.name === 'message' && isChatOrNormal(stanza) && this.ctx.router.deliverToBareJid(stanza, bare) > 0) continue;
      dropped++;
    }
    if (dropped > 0) this.ctx.log.debug({ session: session.id, dropped }, 'held stanzas of a closed inactive session discarded');
  }

  private flush(session: Session, state: ClientState): void {
    const stanzas = state.held.take();
    if (stanzas.length === 0) return;
    state.flushing = true;
    try {
      for (const stanza of stanzas) this.ctx.router.deliver(session, stanza);
    } finally {
      state.flushing = false;
    }
  }
}

function isChatOrNormal(stanza: Element): boolean {
  const type = stanza.attrs.type ?? 'normal';
  return type === 'chat' || type === 'normal';
}
