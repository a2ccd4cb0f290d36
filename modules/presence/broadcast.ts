import { Jid, cloneElement, xml, type Element, type ModuleContext, type Session } from '../../server/api/index.js';
import type { RosterService } from '../roster/service.js';

type Ctx = Pick<ModuleContext, 'router' | 'sessions' | 'accounts' | 'log'>;

/**
 * Presence between sessions (RFC 6121 section 4): broadcast to subscribers and to the user's own
 * resources, probes at initial presence, directed presence and the unavailable presence that ends
 * it, and the delivery of inbound presence to local resources.
 *
 * Presence for contacts goes through `ctx.router.send` (policy and audit see it, remote contacts
 * reach federation). Presence a new session needs about local contacts is delivered to it straight
 * away: answering those probes needs no stanza (4.3.2 done locally).
 */
export class Broadcaster {
  /** Sessions whose available presence was broadcast and not yet ended by unavailable. */
  private readonly announced = new WeakSet<Session>();
  /** RFC 6121 4.6: who got directed presence from a session, to be told when it goes away. */
  private readonly directed = new WeakMap<Session, Set<string>>();
  /** Set when the server stops: every session closes at once and nothing is left to tell. */
  stopping = false;

  constructor(private readonly ctx: Ctx, private readonly roster: RosterService) {}

  // ---- the user's broadcast presence (4.2, 4.4, 4.5) -----------------------------------------

  /** Available presence without 'to': initial (4.2.2) or an update (4.4.2). */
  async available(session: Session, stanza: Element): Promise<void> {
    const initial = !this.announced.has(session);
    this.announced.add(session);
    const user = session.jid.bareJid();
    if (initial) this.presenceForNewSession(session, user);
    await this.toSubscribers(user, stanza, session.jid);
    // 4.2.2 / 4.4.2: to all of the user's available resources, the sender included (a user is
    // implicitly subscribed to its own presence).
    for (const own of this.ctx.sessions.availableOf(user)) own.deliver(addressed(stanza, session.jid.full, own.jid.full));
  }

  /** Unavailable presence without 'to' (4.5.2): subscribers, own resources, directed-presence recipients. */
  async unavailable(session: Session, stanza: Element): Promise<void> {
    const wasAvailable = this.announced.delete(session);
    const user = session.jid.bareJid();
    if (wasAvailable) {
      await this.toSubscribers(user, stanza, session.jid);
      for (const own of this.ctx.sessions.availableOf(user)) {
        if (own !== session) own.deliver(addressed(stanza, session.jid.full, own.jid.full));
      }
    }
    await this.endDirected(session, stanza);
  }

  /**
   * A session ended without (or after) unavailable presence, for any reason: a closed stream, a
   * dropped connection, a stream error. The core leaves `session.available` as it was.
   */
  async sessionClosed(session: Session): Promise<void> {
    if (this.stopping) return;
    const unavailable = xml('presence', { type: 'unavailable', from: session.jid.full });
    if (this.announced.has(session) || session.available) {
      this.announced.delete(session);
      const user = session.jid.bareJid();
      await this.toSubscribers(user, unavailable, session.jid);
      for (const own of this.ctx.sessions.availableOf(user)) {
        if (own !== session) own.deliver(addressed(unavailable, session.jid.full, own.jid.full));
      }
    }
    await this.endDirected(session, unavailable);
  }

  /** 4.2.2: send the presence to every contact with subscription 'from' or 'both'. */
  private async toSubscribers(user: Jid, stanza: Element, from: Jid): Promise<void> {
    const sends: Promise<void>[] = [];
    for (const contact of this.roster.subscribersOf(user)) {
      if (contact === user.bare) continue; // the user's own resources are served directly
      sends.push(this.send(addressed(stanza, from.full, contact)));
    }
    await Promise.all(sends);
  }

  /**
   * Initial presence (4.2.2): the new session learns the presence of the contacts it is subscribed
   * to (probes, answered here for local contacts per 4.3.2, sent on for remote ones) and of the
   * user's other available resources.
   */
  private presenceForNewSession(session: Session, user: Jid): void {
    for (const contactJid of this.roster.subscriptionsOf(user)) {
      const contact = Jid.tryParse(contactJid);
      if (!contact || contact.bare === user.bare) continue;
      if (this.ctx.accounts.isLocalDomain(contact.domain)) {
        for (const p of this.currentPresence(contact, user)) session.deliver(addressed(p.stanza, p.from, session.jid.full));
      } else {
        void this.send(xml('presence', { type: 'probe', from: user.bare, to: contact.bare }));
      }
    }
    for (const own of this.ctx.sessions.availableOf(user)) {
      if (own !== session && own.presence) session.deliver(addressed(own.presence, own.jid.full, session.jid.full));
    }
  }

  // ---- probes (4.3) ------------------------------------------------------------------------

  /**
   * The presence of `contact` that `asker` may see (RFC 6121 4.3.2): the last presence of each
   * available resource when the contact's roster gives the asker a subscription ('from' or 'both');
   * nothing otherwise.
   */
  currentPresence(contact: Jid, asker: Jid): { from: string; stanza: Element }[] {
    // Most contacts are offline at any moment: skip the roster lookup (SQLite) for them.
    const online = this.ctx.sessions.availableOf(contact.bare);
    if (online.length === 0) return [];
    const item = this.roster.get(contact.bareJid(), asker.bareJid());
    if (contact.bare !== asker.bare && !(item && (item.subscription === 'from' || item.subscription === 'both'))) return [];
    return online
      .filter((s) => s.presence !== null)
      .map((s) => ({ from: s.jid.full, stanza: s.presence! }));
  }

  /** Answer a probe addressed to a local account (4.3.2) from a local or remote prober. */
  async answerProbe(prober: Jid, contact: Jid, origin: Session | null): Promise<void> {
    const isSelf = prober.bare === contact.bare;
    const item = this.roster.get(contact.bareJid(), prober.bareJid());
    const subscribed = isSelf || (item !== undefined && (item.subscription === 'from' || item.subscription === 'both'));
    if (!subscribed) {
      // 4.3.2: reveal nothing; 'unsubscribed' lets the prober's server correct a stale subscription.
      await this.send(xml('presence', { type: 'unsubscribed', from: contact.bare, to: prober.bare }));
      return;
    }
    const sessions = this.ctx.sessions.availableOf(contact.bare).filter((s) => s.presence !== null
      && (contact.resource === '' || s.jid.full === contact.full) && s !== origin);
    const answers = sessions.length > 0
      ? sessions.map((s) => addressed(s.presence!, s.jid.full, prober.full))
      // 4.3.2: no available resource: say so with unavailable presence.
      : [xml('presence', { type: 'unavailable', from: contact.bare, to: prober.full })];
    for (const answer of answers) {
      if (origin) origin.deliver(answer); // a local prober: straight to the asking session
      else await this.send(answer);
    }
  }

  // ---- directed presence (4.6) -------------------------------------------------------------

  /**
   * A session sent presence with a 'to'. Available presence to an entity that does not get the
   * user's broadcasts is remembered, so that it gets unavailable presence when the session goes
   * (4.6.3); unavailable directed presence ends that.
   */
  noteDirected(session: Session, to: Jid, type: string): void {
    const user = session.jid.bareJid();
    if (to.bare === user.bare) return;
    if (type === 'unavailable') {
      this.directed.get(session)?.delete(to.full);
      return;
    }
    const item = this.roster.get(user, to.bareJid());
    if (item && (item.subscription === 'from' || item.subscription === 'both')) return;
    let set = this.directed.get(session);
    if (!set) { set = new Set(); this.directed.set(session, set); }
    set.add(to.full);
  }

  private async endDirected(session: Session, stanza: Element): Promise<void> {
    const set = this.directed.get(session);
    if (!set || set.size === 0) return;
    this.directed.delete(session);
    await Promise.all([...set].map((to) => this.send(addressed(stanza, session.jid.full, to))));
  }

  // ---- delivery to local resources ---------------------------------------------------------

  /** RFC 6121 8.5.2.1.1: presence to a bare JID goes to every available resource. */
  deliverToAvailable(bare: Jid, stanza: Element): number {
    let n = 0;
    for (const s of this.ctx.sessions.availableOf(bare.bare)) if (s.deliver(cloneElement(stanza))) n++;
    return n;
  }

  /** RFC 6121 8.5.3.1: presence to a full JID goes to that resource if it is connected (else it is ignored, 8.5.3.2.1). */
  deliverToResource(full: Jid, stanza: Element): boolean {
    return this.ctx.sessions.byFullJid(full.full)?.deliver(stanza) ?? false;
  }

  // ---- presence of a user towards one contact (subscription effects) -----------------------

  /** The last presence of each of the user's available resources, to `target` (RFC 6121 3.1.5). */
  async sendAvailable(user: Jid, target: Jid): Promise<void> {
    await Promise.all(this.ctx.sessions.availableOf(user.bare)
      .filter((s) => s.presence !== null)
      .map((s) => this.send(addressed(s.presence!, s.jid.full, target.bare))));
  }

  /** Unavailable presence from each of the user's available resources, to `target` (3.2.2, 3.3.3). */
  async sendUnavailable(user: Jid, target: Jid): Promise<void> {
    await Promise.all(this.ctx.sessions.availableOf(user.bare)
      .map((s) => this.send(xml('presence', { type: 'unavailable', from: s.jid.full, to: target.bare }))));
  }

  /** A server-made stanza into the pipeline; a failure is logged, never thrown at the caller's stanza. */
  async send(stanza: Element): Promise<void> {
    try {
      await this.ctx.router.send(stanza);
    } catch (err) {
      this.ctx.log.warn({ err, to: stanza.attrs.to, type: stanza.attrs.type }, 'could not send presence');
    }
  }
}

/**
 * A copy of a presence stanza with 'from' and 'to' set: stanzas are shared between recipients and
 * may be rewritten by their `stanza/out` hooks.
 */
export function addressed(stanza: Element, from: string, to: string): Element {
  const copy = cloneElement(stanza);
  copy.attrs.from = from;
  copy.attrs.to = to;
  return copy;
}
