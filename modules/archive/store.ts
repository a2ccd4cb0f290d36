import type Database from 'better-sqlite3';
import {
  accessHash, chainHash, dayOf, GENESIS_HASH, HASHED_FIELDS,
  type AccessEntry, type ArchiveRecord, type RecordInput, type UserViewRow,
} from './record.js';

/** A record to append, with the accounts that will see it through MAM. */
export interface PendingEntry { record: RecordInput; views: UserViewRow[] }

export interface ChainHead { seq: number; hash: string }

const RECORD_COLUMNS = [...HASHED_FIELDS, 'prev_hash', 'hash', 'views'] as const;
const SEQ_AT = HASHED_FIELDS.indexOf('seq');
const TS_AT = HASHED_FIELDS.indexOf('ts');
const DAY_AT = HASHED_FIELDS.indexOf('day');

/**
 * An entry in the form the writer thread takes: the hashed fields as an array in HASHED_FIELDS
 * order (seq and day left for the writer to fill in), so that the canonical form is the array's
 * JSON, and the views as JSON beside it. Arrays of strings cross to a worker thread several
 * times faster than objects, and the writer builds no object per record.
 */
export interface EntryRows { rows: unknown[][]; views: string[] }

/** Views as stored with the record: JSON [[owner, with], ...], or '' when nobody sees it. */
export function viewsJson(views: readonly UserViewRow[]): string {
  return views.length ? JSON.stringify(views.map((v) => [v.owner, v.with_jid])) : '';
}

/** The chain position of a row that appendRows has written. */
export function rowHead(row: readonly unknown[]): ChainHead {
  return { seq: row[SEQ_AT] as number, hash: row[HASHED_FIELDS.length + 1] as string };
}

/** Add one entry to a set of rows for the writer. */
export function pushEntry(into: EntryRows, e: PendingEntry): void {
  const row: unknown[] = new Array(HASHED_FIELDS.length);
  for (let i = 0; i < HASHED_FIELDS.length; i++) {
    const f = HASHED_FIELDS[i]!;
    row[i] = f === 'seq' ? 0 : f === 'day' ? '' : e.record[f];
  }
  into.rows.push(row);
  into.views.push(viewsJson(e.views));
}

/**
 * The archive's SQL. Only `append` adds to the chain, and it reads the head inside its own
 * IMMEDIATE transaction, so two processes (the server and the CLI) can never fork the chain.
 */
export class ArchiveStore {
  private readonly headStmt: Database.Statement<[], { seq: number; hash: string }>;
  private readonly accessHead: Database.Statement<[], { seq: number; hash: string }>;
  private readonly insertAccess: Database.Statement;
  private readonly appendTx: Database.Transaction<(entries: EntryRows) => ChainHead>;
  private readonly indexedUpto: Database.Statement;
  private readonly setIndexedUpto: Database.Statement;
  private readonly unindexed: Database.Statement;
  private readonly indexFts: Database.Statement;
  private readonly insertParty: Database.Statement;
  private readonly jidId: Database.Statement;
  private readonly insertJid: Database.Statement;
  private readonly indexTx: Database.Transaction<(limit: number) => number>;
  /** Numbers of bare JIDs (table jids) this connection has seen; cleared when a transaction fails. */
  private jidIds = new Map<string, number>();

  constructor(readonly db: Database.Database) {
    this.headStmt = db.prepare('SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1');
    // Positional parameters: binding 25 named values costs more than the insert itself.
    const insertRecord = db.prepare(`INSERT INTO records (${RECORD_COLUMNS.join(', ')}) VALUES (${RECORD_COLUMNS.map(() => '?').join(', ')})`);
    this.accessHead = db.prepare('SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1');
    this.insertAccess = db.prepare('INSERT INTO access_log (seq, ts, actor, action, params, result, detail, prev_hash, hash) VALUES (@seq, @ts, @actor, @action, @params, @result, @detail, @prev_hash, @hash)');
    this.appendTx = db.transaction(({ rows, views }: EntryRows) => {
      let { seq, hash } = this.head();
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        row[SEQ_AT] = ++seq;
        row[DAY_AT] = dayOf(row[TS_AT] as number);
        // The canonical form (canonicalRecord) is the JSON of the hashed fields in order: this row.
        const prev = hash;
        hash = chainHash(prev, JSON.stringify(row));
        // The MAM views ride along (not hashed: they are the users' view, not the record) and
        // are indexed later with the full text, in bigger batches: see indexPending.
        row.push(prev, hash, views[i]);
        insertRecord.run(row);
      }
      return { seq, hash };
    });
    this.indexedUpto = db.prepare("SELECT value FROM archive_state WHERE key = 'indexed_upto'").pluck();
    this.setIndexedUpto = db.prepare("UPDATE archive_state SET value = ? WHERE key = 'indexed_upto'");
    this.unindexed = db.prepare("SELECT seq, sender_bare, recipient_bare, views FROM records WHERE seq > ? AND seq <= ? AND kind = 'message' ORDER BY seq");
    // Full text in one statement per pass (no call per record); only records with text are indexed.
    this.indexFts = db.prepare("INSERT INTO records_fts (rowid, body, subject) SELECT seq, body, subject FROM records WHERE seq > ? AND seq <= ? AND (body <> '' OR subject <> '')");
    this.insertParty = db.prepare('INSERT OR IGNORE INTO parties (jid, seq, with_jid, shown) VALUES (?, ?, ?, ?)');
    this.jidId = db.prepare('SELECT id FROM jids WHERE jid = ?').pluck();
    this.insertJid = db.prepare('INSERT INTO jids (jid) VALUES (?)');
    this.indexTx = db.transaction((limit: number) => {
      const upto = this.indexedUpto.get() as number;
      const head = this.head().seq;
      const last = Math.min(head, upto + limit);
      if (last <= upto) return 0;
      const rows = this.unindexed.all(upto, last) as { seq: number; sender_bare: string; recipient_bare: string; views: string }[];
      for (const r of rows) {
        const shown = r.views ? (JSON.parse(r.views) as [string, string][]).map(([owner]) => owner) : [];
        const sender = r.sender_bare ? this.numberOf(r.sender_bare) : 0;
        const recipient = r.recipient_bare ? this.numberOf(r.recipient_bare) : 0;
        if (sender) this.insertParty.run(sender, r.seq, recipient, shown.includes(r.sender_bare) ? 1 : 0);
        if (recipient && recipient !== sender) this.insertParty.run(recipient, r.seq, sender, shown.includes(r.recipient_bare) ? 1 : 0);
      }
      this.indexFts.run(upto, last);
      this.setIndexedUpto.run(last);
      return last - upto;
    });
  }

  /** The number of a bare JID in table jids, added on first sight (inside the index transaction). */
  private numberOf(bare: string): number {
    let id = this.jidIds.get(bare);
    if (id === undefined) {
      id = (this.jidId.get(bare) as number | undefined) ?? Number(this.insertJid.run(bare).lastInsertRowid);
      this.jidIds.set(bare, id);
    }
    return id;
  }

  head(): ChainHead {
    return this.headStmt.get() ?? { seq: 0, hash: GENESIS_HASH };
  }

  /** Append entries to the chain in one durable transaction (all or none). */
  append(entries: PendingEntry[]): ArchiveRecord[] {
    const batch: EntryRows = { rows: [], views: [] };
    for (const e of entries) pushEntry(batch, e);
    this.appendRows(batch);
    return batch.rows.map((row) => Object.fromEntries(RECORD_COLUMNS.map((c, i) => [c, row[i]])) as unknown as ArchiveRecord);
  }

  /**
   * The writer thread's append: rows from pushEntry, in one durable transaction (all or none).
   * Fills in each row's seq, day, prev_hash, hash and views; returns the new head of the chain.
   */
  appendRows(batch: EntryRows): ChainHead {
    return this.appendTx.immediate(batch);
  }

  /**
   * Bring the derived tables (participants with their MAM views, full-text index) up to the head of the chain, at most
   * `limit` records per transaction. The writer runs it shortly after its commits, many records at
   * a time, so each index page is written once for many records; readers run it before they read,
   * so a query never misses a record that was written. Returns how many records it indexed.
   */
  indexPending(limit = 20_000): number {
    let total = 0;
    for (;;) {
      const n = this.indexSome(limit);
      total += n;
      if (n < limit) return total;
    }
  }

  /** One transaction of indexPending: at most `limit` records. Returns how many it indexed. */
  indexSome(limit: number): number {
    try {
      return this.indexTx.immediate(limit);
    } catch (err) {
      // Numbers given out inside the failed transaction were rolled back with it.
      this.jidIds.clear();
      throw err;
    }
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
