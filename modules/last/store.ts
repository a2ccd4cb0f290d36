import type { StorageApi } from '../../server/api/index.js';

export interface LastActivity {
  /** When the account last went unavailable or ended a session (ms since epoch). */
  at: number;
  /** The status text of its last unavailable presence, '' when it had none. */
  status: string;
}

/** Last logouts per account (table `last_activity`, schema/last/001_last_activity.sql). */
export interface LastActivityStore {
  get(bare: string): LastActivity | undefined;
  record(bare: string, activity: LastActivity): void;
  delete(bare: string): void;
}

export function openLastActivityStore(storage: StorageApi): LastActivityStore {
  const db = storage.db;
  const select = db.prepare('SELECT at, status FROM last_activity WHERE jid = ?');
  const upsert = db.prepare(`INSERT INTO last_activity (jid, at, status) VALUES (?, ?, ?)
    ON CONFLICT (jid) DO UPDATE SET at = excluded.at, status = excluded.status`);
  const remove = db.prepare('DELETE FROM last_activity WHERE jid = ?');
  return {
    get: (bare) => select.get(bare) as LastActivity | undefined,
    record: (bare, { at, status }) => { upsert.run(bare, at, status); },
    delete: (bare) => { remove.run(bare); },
  };
}
