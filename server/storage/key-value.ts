import type Database from 'better-sqlite3';
import type { KeyValueStore } from '../api/context.js';

/** ctx.storage.keyValue(): JSON values in the shared module_kv table, namespaced by module and store. */
export function openKeyValueStore<T>(db: Database.Database, module: string, store: string): KeyValueStore<T> {
  const get = db.prepare('SELECT value FROM module_kv WHERE module = ? AND store = ? AND owner = ? AND key = ?').pluck();
  const set = db.prepare(`INSERT INTO module_kv (module, store, owner, key, value) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (module, store, owner, key) DO UPDATE SET value = excluded.value`);
  const del = db.prepare('DELETE FROM module_kv WHERE module = ? AND store = ? AND owner = ? AND key = ?');
  const keys = db.prepare('SELECT key FROM module_kv WHERE module = ? AND store = ? AND owner = ? ORDER BY key').pluck();
  const clear = db.prepare('DELETE FROM module_kv WHERE module = ? AND store = ? AND owner = ?');
  return {
    get(owner, key) {
      const raw = get.get(module, store, owner, key) as string | undefined;
      return raw === undefined ? undefined : (JSON.parse(raw) as T);
    },
    set(owner, key, value) { set.run(module, store, owner, key, JSON.stringify(value)); },
    delete(owner, key) { del.run(module, store, owner, key); },
    keys(owner) { return keys.all(module, store, owner) as string[]; },
    clear(owner) { clear.run(module, store, owner); },
  };
}
