import { elementFromJson, elementToJson, type JsonNode } from '../../server/api/index.js';
import type { Element, StorageApi } from '../../server/api/index.js';

export interface StoredMessage {
  id: number;
  sender: string;
  storedAt: number;
  stanza: Element;
}

/** Offline message storage behind a small interface (SQLite today; see DESIGN.md "Storage"). */
export interface OfflineStore {
  /**
   * Store a message for `owner` unless they already have `limit` messages waiting. The check and
   * the insert are one statement, and the row is on disk (synchronous=FULL) when this returns.
   */
  add(owner: string, sender: string, storedAt: number, stanza: Element, limit: number): boolean;
  /** Up to `max` messages of `owner` stored at or after `notBefore`, after message `afterId`, oldest first. */
  pending(owner: string, notBefore: number, afterId: number, max: number): StoredMessage[];
  count(owner: string): number;
  /** Forget delivered messages (one transaction). */
  remove(ids: readonly number[]): void;
  /** Everything of one account (account deletion); returns how many rows went. */
  removeOwner(owner: string): number;
  /** Messages stored before `cutoff` (max_age); returns how many rows went. */
  purgeOlderThan(cutoff: number): number;
}

interface Row { id: number; sender: string; stored_at: number; stanza_json: string }

export function openOfflineStore(storage: Pick<StorageApi, 'db'>): OfflineStore {
  const db = storage.db;
  const insert = db.prepare(`
    INSERT INTO offline_messages (owner, sender, stored_at, stanza_json)
    SELECT @owner, @sender, @storedAt, @stanza
    WHERE (SELECT COUNT(*) FROM offline_messages WHERE owner = @owner) < @limit`);
  const select = db.prepare(`
    SELECT id, sender, stored_at, stanza_json FROM offline_messages
    WHERE owner = ? AND id > ? AND stored_at >= ? ORDER BY id LIMIT ?`);
  const countOf = db.prepare('SELECT COUNT(*) AS n FROM offline_messages WHERE owner = ?').pluck();
  const removeOne = db.prepare('DELETE FROM offline_messages WHERE id = ?');
  const removeAll = db.prepare('DELETE FROM offline_messages WHERE owner = ?');
  const purge = db.prepare('DELETE FROM offline_messages WHERE stored_at < ?');
  const removeMany = db.transaction((ids: readonly number[]) => { for (const id of ids) removeOne.run(id); });

  return {
    add(owner, sender, storedAt, stanza, limit) {
      const stanzaJson = JSON.stringify(elementToJson(stanza));
      return insert.run({ owner, sender, storedAt, stanza: stanzaJson, limit }).changes === 1;
    },
    pending(owner, notBefore, afterId, max) {
      return (select.all(owner, afterId, notBefore, max) as Row[]).map((r) => ({
        id: r.id,
        sender: r.sender,
        storedAt: r.stored_at,
        stanza: elementFromJson(JSON.parse(r.stanza_json) as JsonNode),
      }));
    },
    count: (owner) => countOf.get(owner) as number,
    remove(ids) {
      if (ids.length > 0) removeMany(ids);
    },
    removeOwner: (owner) => removeAll.run(owner).changes,
    purgeOlderThan: (cutoff) => purge.run(cutoff).changes,
  };
}
