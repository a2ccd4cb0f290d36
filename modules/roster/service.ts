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

/** A contact that a shared group puts into a roster (see `addSharedGroupSource`). */
export interface SharedContact {
  /** The contact's bare JID, on the owner's domain. */
  readonly jid: string;
  /** The name the item shows (the person's display name), or null. */
  readonly name: string | null;
  /** The shared groups the owner and the contact are both in: the item's roster groups. */
  readonly groups: readonly string[];
}

/**
 * Somewhere that puts people into each other's rosters without any subscription dance: the
 * company directory's departments. Its contacts appear in roster gets as items with subscription
 * 'both' and their groups, count as 'both' for presence broadcasts and probes, cannot be removed by
 * the owner (a roster set with subscription='remove' gets `not-allowed`), and are read-only apart
 * from a personal name and extra groups the owner may add (stored as an ordinary item, shown on top).
 * Shared groups are symmetric: when B is a shared contact of A, A must be one of B.
 */
export interface SharedGroupSource {
  /** Shown in logs and in refusals ("managed by <name>"). */
  readonly name: string;
  /**
   * The shared contacts of a local bare JID, never the owner itself. Called for every broadcast
   * presence, probe and roster get: answer from memory.
   */
  contactsOf(owner: Jid): readonly SharedContact[];
  /** The shared contact `contact` of `owner`, or undefined (same rule: from memory). */
  contactOf(owner: Jid, contact: Jid): SharedContact | undefined;
}

/** An owner whose view of a contact a shared group source is about to change. */
export interface SharedPair {
  readonly owner: Jid;
  readonly contact: Jid;
}

/** What `addSharedGroupSource` returns to the source. */
export interface SharedGroupsHandle {
  /**
   * The source is about to change what it says about these pairs; `apply` makes the change (swaps
   * in its new data). For every pair whose item differs afterwards the roster service bumps the
   * owner's version, pushes the item (or its removal) to the owner's interested resources and
   * emits 'roster/shared-changed', on which the presence module sends the owner's presence where it
   * now flows, and unavailable presence where it stopped. List both directions of each pair.
   */
  update(pairs: readonly SharedPair[], apply: () => void): Promise<void>;
  /** Stop consulting the source; its items vanish from the next roster get on (no pushes). */
  remove(): void;
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
  /** The owner's item for `contact` (a shared contact included, see `addSharedGroupSource`), or undefined. */
  get(owner: Jid, contact: Jid): RosterItem | undefined;
  /** Every item of the owner's roster, shared contacts included. */
  list(owner: Jid): RosterItem[];
  /** Contacts with subscription 'from' or 'both' (shared contacts included): they receive the owner's broadcast presence (4.2.2, 4.4.2). */
  subscribersOf(owner: Jid): string[];
  /** Contacts with subscription 'to' or 'both' (shared contacts included): the owner receives their presence and probes them (4.2.2). */
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

  /**
   * Put the contacts of shared groups into rosters (see `SharedGroupSource`). The source tells the
   * roster service about changes through the returned handle, so that rosters are pushed.
   */
  addSharedGroupSource(source: SharedGroupSource): SharedGroupsHandle;
  /** The names of the shared groups that make `contact` a shared contact of `owner` (empty: none). */
  sharedGroupsOf(owner: Jid, contact: Jid): string[];
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
    /**
     * A shared group source changed `owner`'s item for `contact` (see `SharedGroupsHandle.update`):
     * its state before and after (undefined: not in the roster), the personal item included.
     */
    'roster/shared-changed': { owner: Jid; contact: Jid; before: RosterItem | undefined; after: RosterItem | undefined };
  }
}
