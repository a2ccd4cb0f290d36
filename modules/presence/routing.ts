import {
  Jid, StanzaError, block, cloneElement, delayStamp, drop, handled, rewrite, xml,
  type ModuleContext, type Session, type StanzaEvent, type Verdict,
} from '../../server/api/index.js';
import type { RosterItem, RosterService } from '../roster/service.js';
import type { Broadcaster } from './broadcast.js';
import { grantsFrom, SUBSCRIPTION_TYPES, type SubscriptionType } from './states.js';
import { stampSubscription, type SubscriptionFlow } from './subscriptions.js';

type Ctx = Pick<ModuleContext, 'timers'>;

const selfSubscription = () => new StanzaError('bad-request',
  'An account is always subscribed to its own presence (RFC 6121 4.2.2); address a subscription request to a contact');

/**
 * The presence hooks: which stanza goes to the broadcast, the probe answer, the subscription flow
 * or plain delivery. Every presence that reaches a hook here is handled: nothing falls through to
 * the core, which would ignore it.
 */
export class PresenceRouting {
  constructor(
    private readonly ctx: Ctx,
    private readonly roster: RosterService,
    private readonly presence: Broadcaster,
    private readonly subscriptions: SubscriptionFlow,
  ) {}

  /** `presence/broadcast`: a client's presence without 'to' (4.2, 4.4, 4.5). */
  readonly broadcast = async (event: StanzaEvent): Promise<Verdict | undefined> => {
    const session = event.origin;
    if (!session) return undefined;
    switch (event.type) {
      case 'available': await this.presence.available(session, event.stanza); return handled();
      case 'unavailable': await this.presence.unavailable(session, event.stanza); return handled();
      case 'probe': await this.presence.answerProbe(event.from, event.to, session); return handled();
      // An error must not be answered with an error (RFC 6120 8.3.1) and has nobody to go to.
      case 'error': return drop('presence error without an addressee');
      default: return block(selfSubscription());
    }
  };

  /** `presence/bare`: presence to a local account's bare JID. */
  readonly toAccount = async (event: StanzaEvent): Promise<Verdict | undefined> => {
    if (SUBSCRIPTION_TYPES.has(event.type)) return this.subscription(event, event.to);
    if (event.type === 'probe') {
      await this.presence.answerProbe(event.from, event.to, event.origin);
      return handled();
    }
    // Directed presence (4.6) or presence from elsewhere; 8.5.2.1.1: every available resource gets it.
    if (event.origin && event.type !== 'error') this.presence.noteDirected(event.origin, event.to, event.type);
    this.presence.deliverToAvailable(event.to, event.stanza);
    return handled();
  };

  /** `presence/full`: presence to a local full JID. */
  readonly toResource = async (event: StanzaEvent): Promise<Verdict | undefined> => {
    // 3.1.2 / 3.1.3: a subscription stanza to a full JID is treated as sent to the bare JID.
    if (SUBSCRIPTION_TYPES.has(event.type)) return this.subscription(event, event.to.bareJid());
    if (event.type === 'probe') {
      await this.presence.answerProbe(event.from, event.to, event.origin);
      return handled();
    }
    if (event.origin && event.type !== 'error') this.presence.noteDirected(event.origin, event.to, event.type);
    // 8.5.3.2.1: presence to a resource that is not connected is ignored.
    this.presence.deliverToResource(event.to, event.stanza);
    return handled();
  };

  /**
   * `route/remote` (POLICY stage, before federation): the sender's side of subscriptions to remote
   * contacts and directed presence to remote entities. The stanza then goes on to federation, with
   * 'from' stamped to the bare JID for subscriptions (3.1.2).
   */
  readonly toRemote = (event: StanzaEvent): Verdict | undefined => {
    if (event.kind !== 'presence' || !event.origin) return undefined;
    if (SUBSCRIPTION_TYPES.has(event.type)) {
      const user = event.from.bareJid();
      const contact = event.to.bareJid();
      const result = this.subscriptions.outbound(user, contact, event.type as SubscriptionType);
      if (!result.route) return handled();
      if (grantsFrom(result.before) !== grantsFrom(result.after)) {
        // The presence that follows an approval or a cancellation must leave after the stanza
        // itself, which federation takes once this hook has returned.
        this.ctx.timers.after(0, () => this.subscriptions.afterOutbound(user, contact, result));
      }
      return rewrite(stampSubscription(event.stanza, user, contact));
    }
    if (event.type === 'available' || event.type === 'unavailable') this.presence.noteDirected(event.origin, event.to, event.type);
    return undefined;
  };

  /** A subscription stanza to the local account `contact`. */
  private async subscription(event: StanzaEvent, contact: Jid): Promise<Verdict> {
    const type = event.type as SubscriptionType;
    const from = event.from.bareJid();
    if (from.bare === contact.bare) return event.origin ? block(selfSubscription()) : handled();
    if ((type === 'unsubscribe' || type === 'unsubscribed') && event.origin) {
      // Shared groups make presence flow both ways without subscriptions; the owner cannot stop it.
      const shared = this.roster.sharedGroupsOf(from, contact);
      if (shared.length > 0) {
        return block(new StanzaError('not-allowed', `You and ${contact.bare} share the group ${shared.map((g) => `"${g}"`).join(', ')}, which shares presence; it cannot be cancelled`));
      }
    }
    if (event.origin) {
      // Both ends are local: the sender's server part, then the contact's, in one flow.
      const result = this.subscriptions.outbound(from, contact, type);
      if (result.route) await this.subscriptions.inbound(contact, from, type, stampSubscription(event.stanza, from, contact));
      await this.subscriptions.afterOutbound(from, contact, result);
      return handled();
    }
    // From a remote server (through federation) or made by a module: the contact's part only.
    await this.subscriptions.inbound(contact, from, type, stampSubscription(event.stanza, from, contact));
    return handled();
  }

  /** 3.1.3: requests still unanswered are delivered at each initial presence until answered. */
  deliverPendingRequests(session: Session): void {
    const owner = session.jid.bareJid();
    for (const request of this.roster.pendingRequests(owner)) {
      const stanza = cloneElement(request.stanza);
      stanza.append(delayStamp(owner.domain, request.receivedAt, 'Offline Storage'));
      session.deliver(stanza);
    }
  }

  /**
   * A shared group changed `owner`'s item for `contact`. When the contact now receives the owner's
   * presence and did not before, the owner's available resources send it their presence (as an
   * approval would, 3.1.5); when it stopped, unavailable presence (3.2.2). The event comes for both
   * directions of a pair, so each side is told about the other.
   */
  async afterSharedChange(owner: Jid, contact: Jid, before: RosterItem | undefined, after: RosterItem | undefined): Promise<void> {
    const had = before !== undefined && (before.subscription === 'from' || before.subscription === 'both');
    const has = after !== undefined && (after.subscription === 'from' || after.subscription === 'both');
    if (!had && has) await this.presence.sendAvailable(owner, contact);
    if (had && !has) await this.presence.sendUnavailable(owner, contact);
  }

  /**
   * RFC 6121 2.5.2: a removed item ends the subscriptions both ways: 'unsubscribe' when the user
   * had or asked for the contact's presence, 'unsubscribed' (and unavailable presence) when the
   * contact had the user's, or when the contact's request was still waiting.
   */
  async afterRemoval(owner: Jid, item: RosterItem): Promise<void> {
    const contactJid = Jid.tryParse(item.jid);
    if (!contactJid) return;
    const contact = contactJid.bareJid();
    const hadRequest = this.roster.clearPendingRequest(owner, contact);
    if (item.subscription === 'to' || item.subscription === 'both' || item.ask) {
      await this.presence.send(xml('presence', { type: 'unsubscribe', from: owner.bare, to: contact.bare }));
    }
    if (item.subscription === 'from' || item.subscription === 'both' || hadRequest) {
      await this.presence.send(xml('presence', { type: 'unsubscribed', from: owner.bare, to: contact.bare }));
    }
    if (item.subscription === 'from' || item.subscription === 'both') await this.presence.sendUnavailable(owner, contact);
  }
}
