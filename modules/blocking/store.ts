import type { StorageApi } from '../../server/api/index.js';

/** Block lists behind a small interface (SQLite today; see DESIGN.md "Storage"). */
export interface BlocklistStore {
  /** Every account's list, in the order the JIDs were blocked (read once at start). */
  loadAll(): Map<string, string[]>;
  /** Add JIDs to an account's list (one transaction); JIDs already there are kept as they were. */
  add(owner: string, jids: readonly string[], at: number): void;
  /** Remove JIDs from an account's list (one transaction). */
  remove(owner: string, jids: readonly string[]): void;
  /** Empty an account's list. */
  clear(owner: string): void;
}

export function openBlocklistStore(storage: Pick<StorageApi, 'db'>): BlocklistStore {
  const db = storage.db;
  const all = db.prepare('SELECT owner, jid FROM blocklist ORDER BY owner, created_at, jid');
  const insert = db.prepare('INSERT OR IGNORE INTO blocklist (owner, jid, created_at) VALUES (?, ?, ?)');
  const removeOne = db.prepare('DELETE FROM blocklist WHERE owner = ? AND jid = ?');
  const removeAll = db.prepare('DELETE FROM blocklist WHERE owner = ?');
  const addMany = db.transaction((owner: string, jids: readonly string[], at: number) => {
    for (const jid of jids) insert.run(owner, jid, at);
  });
  const removeMany = db.transaction((owner: string, jids: readonly string[]) => {
    for (const jid of jids) removeOne.run(owner, jid);
  });
  return {
    loadAll() {
      const lists = new Map<string, string[]>();
      for (const row of all.iterate() as IterableIterator<{ owner: string; jid: string }>) {
        const list = lists.get(row.owner);
        if (list) list.push(row.jid); else lists.set(row.owner, [row.jid]);
      }
      return lists;
    },
    add: (owner, jids, at) => { addMany(owner, jids, at); },
    remove: (owner, jids) => { removeMany(owner, jids); },
    clear: (owner) => { removeAll.run(owner); },
  };
}
