import type Database from 'better-sqlite3';
import {
  accessHash, dayOf, GENESIS_HASH, HASHED_FIELDS, recordHash,
  type AccessEntry, type ArchiveRecord, type RecordInput, type UserViewRow,
} from './record.js';

/** A record to append, with the accounts that will see it through MAM. */
export interface PendingEntry { record: RecordInput; views: UserViewRow[] }

export interface ChainHead { seq: number; hash: string }

const RECORD_COLUMNS = [...HASHED_FIELDS, 'prev_hash', 'hash'] as const;

/**
 * The archive's SQL. Only `append` adds to the chain, and it reads the head inside its own
 * IMMEDIATE transaction, so two processes (the server and the CLI) can never fork the chain.
 */
export class ArchiveStore {
  private readonly headStmt: Database.Statement<[], { seq: number; hash: string }>;
  private readonly insertRecord: Database.Statement;
  private readonly insertFts: Database.Statement;
  private readonly insertView: Database.Statement;
  private readonly accessHead: Database.Statement<[], { seq: number; hash: string }>;
  private readonly insertAccess: Database.Statement;
  private readonly appendTx: Database.Transaction<(entries: PendingEntry[]) => ArchiveRecord[]>;

  constructor(readonly db: Database.Database) {
    this.headStmt = db.prepare('SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1');
    this.insertRecord = db.prepare(`INSERT INTO records (${RECORD_COLUMNS.join(', ')}) VALUES (${RECORD_COLUMNS.map((c) => `@${c}`).join(', ')})`);
    this.insertFts = db.prepare('INSERT INTO records_fts (rowid, body, subject) VALUES (?, ?, ?)');
    this.insertView = db.prepare('INSERT OR IGNORE INTO user_view (owner, seq, with_jid) VALUES (?, ?, ?)');
    this.accessHead = db.prepare('SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1');
    this.insertAccess = db.prepare('INSERT INTO access_log (seq, ts, actor, action, params, result, detail, prev_hash, hash) VALUES (@seq, @ts, @actor, @action, @params, @result, @detail, @prev_hash, @hash)');
    this.appendTx = db.transaction((entries: PendingEntry[]) => {
      let head = this.head();
      const out: ArchiveRecord[] = [];
      for (const { record, views } of entries) {
        const r = { ...record, seq: head.seq + 1, day: dayOf(record.ts), prev_hash: head.hash, hash: '' };
        r.hash = recordHash(r);
        this.insertRecord.run(r);
        if (r.body || r.subject) this.insertFts.run(r.seq, r.body, r.subject);
        for (const v of views) this.insertView.run(v.owner, r.seq, v.with_jid);
        out.push(r);
        head = r;
      }
      return out;
    });
  }

  head(): ChainHead {
    return this.headStmt.get() ?? { seq: 0, hash: GENESIS_HASH };
  }

  /** Append entries to the chain in one durable transaction (all or none). */
  append(entries: PendingEntry[]): ArchiveRecord[] {
    return this.appendTx.immediate(entries);
  }

  /** Records in chain order, from a position on (for verify, seal and export). */
  *iterate(fromSeq = 1, toSeq = Number.MAX_SAFE_INTEGER): IterableIterator<ArchiveRecord> {
    yield* this.db.prepare('SELECT * FROM records WHERE seq BETWEEN ? AND ? ORDER BY seq').iterate(fromSeq, toSeq) as IterableIterator<ArchiveRecord>;
  }

  bySeq(seq: number): ArchiveRecord | undefined {
    return this.db.prepare('SELECT * FROM records WHERE seq = ?').get(seq) as ArchiveRecord | undefined;
  }

  byId(id: string): ArchiveRecord | undefined {
    return this.db.prepare('SELECT * FROM records WHERE id = ?').get(id) as ArchiveRecord | undefined;
  }

  /** Write one entry of the access log (chained; read and append in one transaction). */
  logAccess(entry: { actor: string; action: string; params: unknown; result: AccessEntry['result']; detail?: unknown }, now = Date.now()): AccessEntry {
    return this.db.transaction(() => {
      const head = this.accessHead.get() ?? { seq: 0, hash: GENESIS_HASH };
      const e: AccessEntry = {
        seq: head.seq + 1, ts: now, actor: entry.actor, action: entry.action,
        params: JSON.stringify(entry.params ?? {}), result: entry.result,
        detail: entry.detail === undefined ? '' : JSON.stringify(entry.detail),
        prev_hash: head.hash, hash: '',
      };
      e.hash = accessHash(e);
      this.insertAccess.run(e);
      return e;
    }).immediate();
  }

  accessLog(fromSeq = 1): AccessEntry[] {
    return this.db.prepare('SELECT * FROM access_log WHERE seq >= ? ORDER BY seq').all(fromSeq) as AccessEntry[];
  }
}
