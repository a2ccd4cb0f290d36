import { cloneElement, xml, type Element, type Jid, type ModuleContext } from '../../server/api/index.js';
import type { RosterService } from '../roster/service.js';
import type { Broadcaster } from './broadcast.js';
import {
  grantsFrom, inboundTransition, outboundTransition, stateParts,
  type StateName, type SubscriptionState, type SubscriptionType,
} from './states.js';

/** The outcome of outbound processing, kept for the effects that follow routing. */
export interface OutboundResult {
  route: boolean;
  before: StateName;
  after: StateName;
}

/**
 * Presence subscriptions (RFC 6121 section 3) driven by the Appendix A tables in states.ts.
 * "Outbound" is the sender's server's part (the sender is a local user), "inbound" the
 * addressee's server's part (the addressee is a local account). When both are local, the caller
 * runs one after the other in the same flow.
 */
export class SubscriptionFlow {
  constructor(
    private readonly ctx: Pick<ModuleContext, 'log'>,
    private readonly roster: RosterService,
    private readonly presence: Broadcaster,
  ) {}

  stateOf(owner: Jid, contact: Jid): SubscriptionState {
    const item = this.roster.get(owner, contact);
    return {
      subscription: item?.subscription ?? 'none',
      pendingOut: item?.ask ?? false,
      pendingIn: this.roster.pendingRequest(owner, contact) !== undefined,
    };
  }

  // ---- the sender's server (A.2) -----------------------------------------------------------

  /**
   * A local user sent a subscription stanza to `contact`: update the user's side (roster push
   * included) and say whether the stanza is routed on. Throws a StanzaError when the roster is full.
   */
  outbound(user: Jid, contact: Jid, type: SubscriptionType): OutboundResult {
    const t = outboundTransition(type, this.stateOf(user, contact));
    if (t.after) {
      this.apply(user, contact, t.before, t.after);
    } else if (type === 'subscribed' && !t.goesOn && !grantsFrom(t.before)) {
      // 3.4.1: approving before being asked is a pre-approval (kept on the item, approved='true').
      this.roster.updateSubscription(user, contact, { approved: true });
    } else if (type === 'unsubscribed' && !t.goesOn) {
      // 3.4.1 / A.2.4 [1]: unsubscribed cancels a pre-approval.
      this.roster.updateSubscription(user, contact, { approved: false });
    }
    this.ctx.log.debug({ user: user.bare, contact: contact.bare, type, before: t.before, after: t.after, route: t.goesOn }, 'outbound subscription');
    return { route: t.goesOn, before: t.before, after: t.after ?? t.before };
  }

  /**
   * What follows a routed outbound stanza: an approval sends the user's current presence to the
   * contact (3.1.5); a cancelled subscription sends unavailable presence (3.2.2).
   */
  async afterOutbound(user: Jid, contact: Jid, result: OutboundResult): Promise<void> {
    const had = grantsFrom(result.before);
    const has = grantsFrom(result.after);
    if (!had && has) await this.presence.sendAvailable(user, contact);
    if (had && !has) await this.presence.sendUnavailable(user, contact);
  }

  // ---- the addressee's server (A.3) --------------------------------------------------------

  /**
   * A subscription stanza from `from` (a bare JID, local or remote) reached the local account
   * `owner`. `stanza` is already stamped: 'from' the sender's bare JID, 'to' the owner's bare JID.
   */
  async inbound(owner: Jid, from: Jid, type: SubscriptionType, stanza: Element): Promise<void> {
    const state = this.stateOf(owner, from);
    if (type === 'subscribe' && !state.pendingIn && this.roster.get(owner, from)?.approved) {
      // 3.4.2: pre-approved; approve on the owner's behalf, as the owner's 'subscribed' would.
      const approval = outboundTransition('subscribed', { ...state, pendingIn: true });
      if (approval.after) {
        this.apply(owner, from, approval.before, approval.after);
        await this.presence.send(xml('presence', { type: 'subscribed', from: owner.bare, to: from.bare, id: stanza.attrs.id }));
        await this.presence.sendAvailable(owner, from);
        return;
      }
    }
    const t = inboundTransition(type, state);
    if (t.after) this.apply(owner, from, t.before, t.after, stanza);
    this.ctx.log.debug({ owner: owner.bare, contact: from.bare, type, before: t.before, after: t.after, deliver: t.goesOn }, 'inbound subscription');
    if (t.goesOn) {
      // 3.1.3: a request for an owner with no available resource waits in the pending store and
      // is delivered at the next initial presence (see index.ts, session/available).
      this.presence.deliverToAvailable(owner, stanza);
    } else if (type === 'subscribe' && grantsFrom(t.before)) {
      // 3.1.3: already subscribed: answer for the owner, without bothering the owner.
      await this.presence.send(xml('presence', { type: 'subscribed', from: owner.bare, to: from.bare, id: stanza.attrs.id }));
    }
    if (type === 'unsubscribe' && t.after && grantsFrom(t.before) && !grantsFrom(t.after)) {
      // 3.3.3: the former subscriber learns that the owner's resources are gone for it.
      await this.presence.sendUnavailable(owner, from);
    }
  }

  /** Store a new state: the pending request here, the item through the roster service (which pushes). */
  private apply(owner: Jid, contact: Jid, before: StateName, after: StateName, request?: Element): void {
    const b = stateParts(before);
    const a = stateParts(after);
    if (b.pendingIn && !a.pendingIn) this.roster.clearPendingRequest(owner, contact);
    if (!b.pendingIn && a.pendingIn && request) this.roster.storePendingRequest(owner, contact, cloneElement(request));
    if (a.subscription !== b.subscription || a.pendingOut !== b.pendingOut) {
      this.roster.updateSubscription(owner, contact, {
        subscription: a.subscription,
        ask: a.pendingOut,
        // A granted subscription consumes a pre-approval.
        ...(grantsFrom(after) ? { approved: false } : {}),
      });
    }
  }
}

/** A subscription stanza as it travels on: 'from' the sender's bare JID (3.1.2), 'to' the contact's bare JID. */
export function stampSubscription(stanza: Element, from: Jid, to: Jid): Element {
  const copy = cloneElement(stanza);
  copy.attrs.from = from.bare;
  copy.attrs.to = to.bare;
  return copy;
}
