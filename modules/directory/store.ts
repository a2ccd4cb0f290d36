import type { ModuleContext } from '../../server/api/index.js';

export type AccountState = 'active' | 'retired';

/** One address given to a directory person (schema/directory/001_accounts.sql). */
export interface AccountRow {
  local: string;
  entryId: string;
  dn: string;
  state: AccountState;
  reason: string | null;
  firstSeen: number;
  changedAt: number;
}

/** Which localparts belong to which directory entry, and which are retired. */
export interface AccountStore {
  get(local: string): AccountRow | undefined;
  all(): AccountRow[];
  /** Localparts in state 'active'. */
  activeLocals(): string[];
  /** A new person's address, or a retired one given back to the same entry. */
  activate(local: string, entryId: string, dn: string): void;
  /** The entry's DN changed (a rename or a move). */
  updateDn(local: string, dn: string): void;
  retire(local: string, reason: string): void;
  /** An administrator released a retired address: the row goes, a new entry may take it. */
  release(local: string): boolean;
  transaction<T>(fn: () => T): T;
}

interface Row { local: string; entry_id: string; dn: string; state: AccountState; reason: string | null; first_seen: number; changed_at: number }

const toRow = (r: Row): AccountRow => ({
  local: r.local, entryId: r.entry_id, dn: r.dn, state: r.state, reason: r.reason, firstSeen: r.first_seen, changedAt: r.changed_at,
});

/** The SQLite store; statements are prepared once. */
export function openAccountStore(ctx: Pick<ModuleContext, 'storage'>): AccountStore {
  const db = ctx.storage.db;
  const cols = 'local, entry_id, dn, state, reason, first_seen, changed_at';
  const s = {
    get: db.prepare<[string], Row>(`SELECT ${cols} FROM directory_accounts WHERE local = ?`),
    all: db.prepare<[], Row>(`SELECT ${cols} FROM directory_accounts ORDER BY local`),
    active: db.prepare<[], { local: string }>("SELECT local FROM directory_accounts WHERE state = 'active'"),
    activate: db.prepare<[{ local: string; id: string; dn: string; now: number }]>(`INSERT INTO directory_accounts (local, entry_id, dn, state, reason, first_seen, changed_at)
      VALUES (@local, @id, @dn, 'active', NULL, @now, @now)
      ON CONFLICT (local) DO UPDATE SET entry_id = excluded.entry_id, dn = excluded.dn, state = 'active', reason = NULL, changed_at = excluded.changed_at`),
    updateDn: db.prepare<[string, number, string]>('UPDATE directory_accounts SET dn = ?, changed_at = ? WHERE local = ?'),
    retire: db.prepare<[string, number, string]>("UPDATE directory_accounts SET state = 'retired', reason = ?, changed_at = ? WHERE local = ?"),
    release: db.prepare<[string]>("DELETE FROM directory_accounts WHERE local = ? AND state = 'retired'"),
  };
  return {
    get: (local) => { const r = s.get.get(local); return r ? toRow(r) : undefined; },
    all: () => s.all.all().map(toRow),
    activeLocals: () => s.active.all().map((r) => r.local),
    activate: (local, entryId, dn) => { s.activate.run({ local, id: entryId, dn, now: Date.now() }); },
    updateDn: (local, dn) => { s.updateDn.run(dn, Date.now(), local); },
    retire: (local, reason) => { s.retire.run(reason, Date.now(), local); },
    release: (local) => s.release.run(local).changes > 0,
    transaction: (fn) => db.transaction(fn)(),
  };
}
