import { Jid, StanzaError, cloneElement, xml, type Element, type ModuleContext, type Session, elementFromJson, elementToJson } from '../../server/api/index.js';
import { itemElement, removedItemElement, rosterQuery, type RosterLimits } from './items.js';
import type {
  ItemEdit, PendingRequest, RosterItem, RosterService, SharedGroupSource, SharedGroupsHandle, SharedPair, SubscriptionUpdate,
} from './service.js';
import { SharedGroups, mergeShared, sameItem } from './shared.js';
import type { RosterStore, StoredRequest } from './store.js';

const EMPTY_ITEM = { name: null, groups: [], subscription: 'none', ask: false, approved: false } as const;

/**
 * The roster service. Owns the "interested resources" of RFC 6121 2.2 (sessions that requested
 * the roster) and sends every roster push (2.1.6) itself, after storing the change and bumping
 * the owner's version (2.6).
 */
export class Rosters implements RosterService {
  /** Sessions that requested the roster; a closed session simply drops out of the WeakSet. */
  private readonly interested = new WeakSet<Session>();
  private pushCounter = 0;
  private readonly pushPrefix = `push-${Date.now().toString(36)}-`;
  /** Contacts put into rosters by shared groups (the directory's departments). */
  private readonly shared = new SharedGroups();

  constructor(
    private readonly ctx: Pick<ModuleContext, 'sessions' | 'events' | 'log'>,
    private readonly store: RosterStore,
    private readonly limits: RosterLimits,
  ) {}

  // ---- reading -----------------------------------------------------------------------------

  get(owner: Jid, contact: Jid): RosterItem | undefined {
    const stored = this.store.get(owner.bare, contact.full);
    if (this.shared.empty) return stored;
    return mergeShared(contact.full, stored, this.shared.contactOf(owner, contact));
  }

  list(owner: Jid): RosterItem[] {
    const stored = this.store.list(owner.bare);
    if (this.shared.empty) return stored;
    const shared = this.shared.contactsOf(owner);
    if (shared.size === 0) return stored;
    const items = stored.map((item) => {
      const c = shared.get(item.jid);
      if (!c) return item;
      shared.delete(item.jid);
      return mergeShared(item.jid, item, [c])!;
    });
    const rest = [...shared.values()].sort((a, b) => (a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0));
    for (const c of rest) items.push(mergeShared(c.jid, undefined, [c])!);
    return items;
  }

  subscribersOf(owner: Jid): string[] {
    return this.withShared(owner, this.store.contactsWith(owner.bare, ['from', 'both']));
  }

  subscriptionsOf(owner: Jid): string[] {
    return this.withShared(owner, this.store.contactsWith(owner.bare, ['to', 'both']));
  }

  /**
   * RFC 6121 2.6: the version changes whenever the roster does; shared contacts change outside the
   * store (while the server was down, too), so their digest is part of it.
   */
  version(owner: Jid): string {
    const n = String(this.store.version(owner.bare));
    const digest = this.shared.digest(owner);
    return digest ? `${n}-${digest}` : n;
  }

  isInterested(session: Session): boolean {
    return this.interested.has(session);
  }

  /** RFC 6121 2.2: a resource that requested the roster gets the pushes from now on. */
  markInterested(session: Session): void {
    this.interested.add(session);
  }

  // ---- shared groups -------------------------------------------------------------------------

  addSharedGroupSource(source: SharedGroupSource): SharedGroupsHandle {
    const removeSource = this.shared.add(source);
    return {
      update: (pairs, apply) => this.updateShared(pairs, apply),
      remove: removeSource,
    };
  }

  sharedGroupsOf(owner: Jid, contact: Jid): string[] {
    return this.shared.empty ? [] : this.shared.groupsOf(owner, contact);
  }

  /** A source changes: push what changed for each pair, then tell the presence side. */
  private async updateShared(pairs: readonly SharedPair[], apply: () => void): Promise<void> {
    const before = pairs.map((p) => this.get(p.owner, p.contact));
    apply();
    const changed: { owner: Jid; contact: Jid; before: RosterItem | undefined; after: RosterItem | undefined }[] = [];
    pairs.forEach((p, i) => {
      const after = this.get(p.owner, p.contact);
      if (sameItem(before[i], after)) return;
      this.store.bumpVersion(p.owner.bare);
      this.push(p.owner, after ? itemElement(after) : removedItemElement(p.contact.bare));
      changed.push({ owner: p.owner.bareJid(), contact: p.contact.bareJid(), before: before[i], after });
    });
    for (const change of changed) await this.ctx.events.emit('roster/shared-changed', change);
  }

  private withShared(owner: Jid, contacts: string[]): string[] {
    if (this.shared.empty) return contacts;
    const shared = this.shared.contactsOf(owner);
    if (shared.size === 0) return contacts;
    const out = new Set(contacts);
    for (const jid of shared.keys()) out.add(jid);
    return [...out];
  }

  // ---- the owner's edits (2.3, 2.5) --------------------------------------------------------

  setItem(owner: Jid, contact: Jid, edit: ItemEdit): RosterItem {
    this.store.transaction(() => {
      const existing = this.store.get(owner.bare, contact.full);
      if (!existing) this.checkRoom(owner);
      const next: RosterItem = { ...(existing ?? { ...EMPTY_ITEM, jid: contact.full }), name: edit.name, groups: [...edit.groups] };
      this.store.put(owner.bare, next);
      this.store.bumpVersion(owner.bare);
    });
    const item = this.get(owner, contact)!;
    this.push(owner, itemElement(item));
    return item;
  }

  async remove(owner: Jid, contact: Jid): Promise<RosterItem | undefined> {
    const removed = this.store.transaction(() => {
      const existing = this.store.get(owner.bare, contact.full);
      if (!existing) return undefined;
      this.store.delete(owner.bare, contact.full);
      this.store.bumpVersion(owner.bare);
      return { item: existing };
    });
    if (!removed) return undefined;
    // A shared contact stays (without the owner's own name and groups): push what is left.
    const left = this.get(owner, contact);
    this.push(owner, left ? itemElement(left) : removedItemElement(removed.item.jid));
    // RFC 6121 2.5.2: the presence side cancels the subscriptions both ways.
    await this.ctx.events.emit('roster/removed', { owner: owner.bareJid(), item: removed.item });
    return removed.item;
  }

  // ---- subscription state (section 3, driven by the presence module) ------------------------

  updateSubscription(owner: Jid, contact: Jid, update: SubscriptionUpdate): RosterItem | undefined {
    const changed = this.store.transaction(() => {
      const existing = this.store.get(owner.bare, contact.full);
      const base: RosterItem = existing ?? { ...EMPTY_ITEM, jid: contact.full };
      const next: RosterItem = {
        ...base,
        subscription: update.subscription ?? base.subscription,
        ask: update.ask ?? base.ask,
        approved: update.approved ?? base.approved,
      };
      const same = next.subscription === base.subscription && next.ask === base.ask && next.approved === base.approved;
      if (same) return { item: existing, version: null };
      if (!existing) {
        // Nothing worth an item: the empty state is what "not in the roster" means.
        if (next.subscription === 'none' && !next.ask && !next.approved) return { item: undefined, version: null };
        this.checkRoom(owner);
      }
      this.store.put(owner.bare, next);
      return { item: next, version: this.store.bumpVersion(owner.bare) };
    });
    if (changed.item && changed.version !== null) this.push(owner, itemElement(this.get(owner, contact) ?? changed.item));
    return changed.item;
  }

  pendingRequest(owner: Jid, contact: Jid): PendingRequest | undefined {
    const r = this.store.pendingGet(owner.bare, contact.bare);
    return r ? this.request(r) : undefined;
  }

  pendingRequests(owner: Jid): PendingRequest[] {
    return this.store.pendingList(owner.bare).map((r) => this.request(r));
  }

  storePendingRequest(owner: Jid, contact: Jid, stanza: Element): void {
    this.store.pendingAdd(owner.bare, contact.bare, elementToJson(stanza), Date.now());
  }

  clearPendingRequest(owner: Jid, contact: Jid): boolean {
    return this.store.pendingDelete(owner.bare, contact.bare);
  }

  /**
   * Account deletion: every item is removed the way the owner would (so contacts are told), and
   * every unanswered request is announced as the removal of an empty item (so the presence side
   * denies it); then whatever is left goes.
   */
  async forgetAccount(owner: Jid): Promise<void> {
    for (const item of this.store.list(owner.bare)) {
      const contact = Jid.tryParse(item.jid);
      if (contact) await this.remove(owner, contact);
    }
    for (const request of this.store.pendingList(owner.bare)) {
      await this.ctx.events.emit('roster/removed', { owner: owner.bareJid(), item: { ...EMPTY_ITEM, jid: request.contact } });
    }
    this.store.clearOwner(owner.bare);
  }

  // ---- pushes (2.1.6) ----------------------------------------------------------------------

  /** Send one roster push, with the owner's current version, to every interested resource of the owner. */
  private push(owner: Jid, item: Element): void {
    let version: string | undefined;
    for (const session of this.ctx.sessions.ofAccount(owner)) {
      if (!this.interested.has(session)) continue;
      version ??= this.version(owner);
      // No 'from': a push comes from the user's own account (RFC 6121 2.1.6).
      session.deliver(xml('iq', { type: 'set', id: this.pushPrefix + (this.pushCounter++).toString(36), to: session.jid.full },
        rosterQuery([cloneElement(item)], version)));
    }
  }

  private checkRoom(owner: Jid): void {
    if (this.store.count(owner.bare) >= this.limits.maxItems) {
      throw new StanzaError('resource-constraint', `The roster is full: at most ${this.limits.maxItems} items`, { type: 'cancel' });
    }
  }

  private request(r: StoredRequest): PendingRequest {
    return { contact: r.contact, stanza: elementFromJson(r.stanza), receivedAt: new Date(r.receivedAt) };
  }
}
