import { type JsonNode } from '../../server/api/index.js';
import type { ModuleContext } from '../../server/api/index.js';
import type { RosterItem, Subscription } from './service.js';

/** A stored inbound subscription request, its stanza still as JSON. */
export interface StoredRequest {
  contact: string;
  stanza: JsonNode;
  receivedAt: number;
}

/**
 * Where rosters live. Owners and contacts are prepared JID strings. SQLite today (tables in
 * schema/roster/001_roster.sql); another backend implements the same interface.
 */
export interface RosterStore {
  get(owner: string, contact: string): RosterItem | undefined;
  list(owner: string): RosterItem[];
  count(owner: string): number;
  /** Contacts of `owner` whose subscription is one of `states`. */
  contactsWith(owner: string, states: readonly [Subscription, Subscription]): string[];
  /** Insert or replace one item. */
  put(owner: string, item: RosterItem): void;
  delete(owner: string, contact: string): boolean;
  version(owner: string): number;
  /** Increment and return the owner's roster version. */
  bumpVersion(owner: string): number;
  pendingGet(owner: string, contact: string): StoredRequest | undefined;
  pendingList(owner: string): StoredRequest[];
  /** Store a request unless one from the same contact is already pending. */
  pendingAdd(owner: string, contact: string, stanza: JsonNode, at: number): void;
  pendingDelete(owner: string, contact: string): boolean;
  /** Everything an owner has (account deletion). */
  clearOwner(owner: string): void;
  /** Run `fn` in one transaction. */
  transaction<T>(fn: () => T): T;
}

interface ItemRow {
  contact: string;
  name: string | null;
  subscription: Subscription;
  ask: number;
  approved: number;
  groups: string;
}

function rowToItem(row: ItemRow): RosterItem {
  return {
    jid: row.contact,
    name: row.name,
    groups: JSON.parse(row.groups) as string[],
    subscription: row.subscription,
    ask: row.ask === 1,
    approved: row.approved === 1,
  };
}

/** The SQLite store; statements are prepared once. */
export function openRosterStore(ctx: Pick<ModuleContext, 'storage'>): RosterStore {
  const db = ctx.storage.db;
  const cols = 'contact, name, subscription, ask, approved, groups';
  const s = {
    get: db.prepare<[string, string], ItemRow>(`SELECT ${cols} FROM roster_items WHERE owner = ? AND contact = ?`),
    list: db.prepare<[string], ItemRow>(`SELECT ${cols} FROM roster_items WHERE owner = ? ORDER BY created_at, contact`),
    count: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM roster_items WHERE owner = ?'),
    contactsWith: db.prepare<[string, string, string], { contact: string }>(
      'SELECT contact FROM roster_items WHERE owner = ? AND subscription IN (?, ?)'),
    put: db.prepare(`INSERT INTO roster_items (owner, contact, name, subscription, ask, approved, groups, created_at, updated_at)
      VALUES (@owner, @contact, @name, @subscription, @ask, @approved, @groups, @now, @now)
      ON CONFLICT (owner, contact) DO UPDATE SET name = excluded.name, subscription = excluded.subscription,
        ask = excluded.ask, approved = excluded.approved, groups = excluded.groups, updated_at = excluded.updated_at`),
    delete: db.prepare<[string, string]>('DELETE FROM roster_items WHERE owner = ? AND contact = ?'),
    version: db.prepare<[string], { version: number }>('SELECT version FROM roster_versions WHERE owner = ?'),
    bump: db.prepare<[string], { version: number }>(`INSERT INTO roster_versions (owner, version) VALUES (?, 1)
      ON CONFLICT (owner) DO UPDATE SET version = version + 1 RETURNING version`),
    pendingGet: db.prepare<[string, string], { contact: string; stanza: string; received_at: number }>(
      'SELECT contact, stanza, received_at FROM roster_pending_in WHERE owner = ? AND contact = ?'),
    pendingList: db.prepare<[string], { contact: string; stanza: string; received_at: number }>(
      'SELECT contact, stanza, received_at FROM roster_pending_in WHERE owner = ? ORDER BY received_at, contact'),
    pendingAdd: db.prepare<[string, string, string, number]>(
      'INSERT OR IGNORE INTO roster_pending_in (owner, contact, stanza, received_at) VALUES (?, ?, ?, ?)'),
    pendingDelete: db.prepare<[string, string]>('DELETE FROM roster_pending_in WHERE owner = ? AND contact = ?'),
    clearItems: db.prepare<[string]>('DELETE FROM roster_items WHERE owner = ?'),
    clearPending: db.prepare<[string]>('DELETE FROM roster_pending_in WHERE owner = ?'),
    clearVersion: db.prepare<[string]>('DELETE FROM roster_versions WHERE owner = ?'),
  };
  const request = (r: { contact: string; stanza: string; received_at: number }): StoredRequest =>
    ({ contact: r.contact, stanza: JSON.parse(r.stanza) as JsonNode, receivedAt: r.received_at });

  return {
    get: (owner, contact) => { const r = s.get.get(owner, contact); return r ? rowToItem(r) : undefined; },
    list: (owner) => s.list.all(owner).map(rowToItem),
    count: (owner) => s.count.get(owner)!.n,
    contactsWith: (owner, [a, b]) => s.contactsWith.all(owner, a, b).map((r) => r.contact),
    put: (owner, item) => {
      s.put.run({
        owner, contact: item.jid, name: item.name, subscription: item.subscription, ask: item.ask ? 1 : 0,
        approved: item.approved ? 1 : 0, groups: JSON.stringify(item.groups), now: Date.now(),
      });
    },
    delete: (owner, contact) => s.delete.run(owner, contact).changes > 0,
    version: (owner) => s.version.get(owner)?.version ?? 0,
    bumpVersion: (owner) => s.bump.get(owner)!.version,
    pendingGet: (owner, contact) => { const r = s.pendingGet.get(owner, contact); return r ? request(r) : undefined; },
    pendingList: (owner) => s.pendingList.all(owner).map(request),
    pendingAdd: (owner, contact, stanza, at) => { s.pendingAdd.run(owner, contact, JSON.stringify(stanza), at); },
    pendingDelete: (owner, contact) => s.pendingDelete.run(owner, contact).changes > 0,
    clearOwner: (owner) => { s.clearItems.run(owner); s.clearPending.run(owner); s.clearVersion.run(owner); },
    transaction: (fn) => db.transaction(fn)(),
  };
}
