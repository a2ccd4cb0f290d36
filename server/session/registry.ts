import type { Session } from '../api/session.js';
import type { SessionDirectory } from '../api/context.js';
import type { Jid } from '../xml/jid.js';

const NONE: readonly Session[] = Object.freeze([]);

/**
 * Bound sessions by full JID and by bare JID: routing looks up one key, it never walks all
 * sessions (RFC 6120 10: the router's cost must not grow with the number of users online).
 */
export class SessionRegistry<S extends Session = Session> implements SessionDirectory {
  private readonly byFull = new Map<string, S>();
  private readonly byBare = new Map<string, S[]>();

  get count(): number { return this.byFull.size; }

  /** Register a bound session; returns the session it replaces when the resource was taken (RFC 6120 7.7.2.2). */
  bind(session: S): S | undefined {
    const replaced = this.byFull.get(session.jid.full);
    if (replaced) this.unbind(replaced);
    this.byFull.set(session.jid.full, session);
    const list = this.byBare.get(session.jid.bare);
    if (list) list.push(session); else this.byBare.set(session.jid.bare, [session]);
    return replaced;
  }

  unbind(session: S): void {
    if (this.byFull.get(session.jid.full) !== session) return;
    this.byFull.delete(session.jid.full);
    const list = this.byBare.get(session.jid.bare);
    if (!list) return;
    const i = list.indexOf(session);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byBare.delete(session.jid.bare);
  }

  byFullJid(jid: Jid | string): S | undefined {
    return this.byFull.get(typeof jid === 'string' ? jid : jid.full);
  }

  ofAccount(bare: Jid | string): readonly S[] {
    return this.byBare.get(typeof bare === 'string' ? bare : bare.bare) ?? (NONE as readonly S[]);
  }

  availableOf(bare: Jid | string): S[] {
    return this.ofAccount(bare).filter((s) => s.available);
  }

  all(): IterableIterator<S> {
    return this.byFull.values();
  }
}
