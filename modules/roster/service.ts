import type { Element, Jid, Session } from '../../server/api/index.js';

/**
 * RFC 6121 2.1.2.5, from the roster owner's point of view:
 * - 'to': the owner receives the contact's presence;
 * - 'from': the contact receives the owner's presence;
 * - 'both': both ways; 'none': neither.
 */
export type Subscription = 'none' | 'to' | 'from' | 'both';

/** One roster item as stored. */
export interface RosterItem {
  /** The contact's JID, prepared (RFC 7622); normally a bare JID. */
  readonly jid: string;
  /** The owner's handle for the contact, or null. */
  readonly name: string | null;
  /** Group names, in the order the owner gave them, without duplicates. */
  readonly groups: readonly string[];
  readonly subscription: Subscription;
  /** "Pending Out": the owner asked for the contact's presence and has no answer yet (ask='subscribe'). */
  readonly ask: boolean;
  /** The owner pre-approved a future request from the contact (RFC 6121 3.4, approved='true'). */
  readonly approved: boolean;
}

/** The server-managed part of an item. Fields left out keep their value. */
export interface SubscriptionUpdate {
  subscription?: Subscription;
  ask?: boolean;
  approved?: boolean;
}

/** What the owner may edit with a roster set (RFC 6121 2.3). */
export interface ItemEdit {
  name: string | null;
  groups: readonly string[];
}

/** An inbound subscription request the owner has not answered ("Pending In", RFC 6121 3.1.3). */
export interface PendingRequest {
  /** Bare JID of the requester. */
  readonly contact: string;
  /** The request as received, 'from' the requester's bare JID and 'to' the owner's bare JID. */
  readonly stanza: Element;
  readonly receivedAt: Date;
}

/**
 * The roster service: rosters, their versions and roster pushes (RFC 6121 section 2), plus the
 * subscription bookkeeping the presence module drives (section 3). Every change made through this
 * service is stored, bumps the owner's roster version and is pushed to the owner's interested
 * resources (2.1.6); callers never push by hand.
 *
 * Owners are local bare JIDs. Contacts are JIDs as stored: the subscription calls use bare JIDs.
 */
export interface RosterService {
  /** The owner's item for `contact`, or undefined. */
  get(owner: Jid, contact: Jid): RosterItem | undefined;
  /** Every item of the owner's roster. */
  list(owner: Jid): RosterItem[];
  /** Contacts with subscription 'from' or 'both': they receive the owner's broadcast presence (4.2.2, 4.4.2). */
  subscribersOf(owner: Jid): string[];
  /** Contacts with subscription 'to' or 'both': the owner receives their presence and probes them (4.2.2). */
  subscriptionsOf(owner: Jid): string[];

  /**
   * Add or update an item as the owner's roster set would (name and groups; the subscription is
   * kept). Throws a StanzaError when the item is refused (limits, see the module's config).
   */
  setItem(owner: Jid, contact: Jid, edit: ItemEdit): RosterItem;
  /**
   * Remove an item as the owner's roster set with subscription='remove' would (2.5): the item is
   * deleted, pushed with subscription='remove', then 'roster/removed' is emitted so the presence side
   * can send unsubscribe/unsubscribed (2.5.2). Returns the removed item, or undefined if there was none.
   */
  remove(owner: Jid, contact: Jid): Promise<RosterItem | undefined>;

  /**
   * Change the server-managed state of an item (subscription, ask, approved). A missing item is
   * created (no name, no groups) unless the result would be the empty state (none, no ask, not
   * approved), in which case nothing is stored and undefined is returned. Pushes the item when it
   * changed. Throws a StanzaError 'resource-constraint' when creating it would exceed the roster limit.
   */
  updateSubscription(owner: Jid, contact: Jid, update: SubscriptionUpdate): RosterItem | undefined;

  /** The unanswered request of `contact` to `owner`, if any. */
  pendingRequest(owner: Jid, contact: Jid): PendingRequest | undefined;
  /** Every unanswered request to `owner`, oldest first (redelivered at each login, 3.1.3). */
  pendingRequests(owner: Jid): PendingRequest[];
  /** Remember an inbound request (the first one is kept if one is already pending). */
  storePendingRequest(owner: Jid, contact: Jid, stanza: Element): void;
  /** Forget a request (approved, denied or withdrawn). Returns whether there was one. */
  clearPendingRequest(owner: Jid, contact: Jid): boolean;

  /** The owner's current roster version string (2.6). */
  version(owner: Jid): string;
  /** Whether the session has requested the roster, so it receives roster pushes (2.2). */
  isInterested(session: Session): boolean;
}

declare module '../../server/api/index.js' {
  interface ParleyServices {
    roster: RosterService;
  }
  interface ParleyEvents {
    /**
     * An item was removed from `owner`'s roster (roster set with subscription='remove', the service's
     * remove(), or account deletion); `item` is its state just before removal. When an account is
     * deleted, each unanswered request is also announced, as an item with subscription 'none'.
     */
    'roster/removed': { owner: Jid; item: RosterItem };
  }
}
