import type Database from 'better-sqlite3';
import {
  accessHash, chainHash, dayOf, GENESIS_HASH, HASHED_FIELDS,
  type AccessEntry, type ArchiveRecord, type RecordInput, type UserViewRow,
} from './record.js';

/** A record to append, with the accounts that will see it through MAM. */
export interface PendingEntry { record: RecordInput; views: UserViewRow[] }

export interface ChainHead { seq: number; hash: string }

const RECORD_COLUMNS = [...HASHED_FIELDS, 'prev_hash', 'hash', 'seen_by'] as const;
const SEQ_AT = HASHED_FIELDS.indexOf('seq');
const TS_AT = HASHED_FIELDS.indexOf('ts');
const DAY_AT = HASHED_FIELDS.indexOf('day');

/** records.seen_by: which participants see the record in their history (MAM). */
export const SEEN_BY_SENDER = 1;
export const SEEN_BY_RECIPIENT = 2;

/**
 * An entry in the form the writer thread takes: the hashed fields as an array in HASHED_FIELDS
 * order (seq and day left for the writer to fill in), so that the canonical form is the array's
 * JSON, and who sees it beside it. Arrays of strings cross to a worker thread several times
 * faster than objects, and the writer builds no object per record.
 */
export interface EntryRows { rows: unknown[][]; seenBy: number[] }

/** The seen_by bits of a record's views: each view's owner is the sender or the addressee. */
export function seenBy(record: Pick<RecordInput, 'sender_bare' | 'recipient_bare'>, views: readonly UserViewRow[]): number {
  let bits = 0;
  for (const v of views) {
    if (v.owner === record.sender_bare) bits |= SEEN_BY_SENDER;
    else if (v.owner === record.recipient_bare) bits |= SEEN_BY_RECIPIENT;
  }
  return bits;
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
  into.seenBy.push(seenBy(e.record, e.views));
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
  /** The index pass, prepared on first use: only connections with the index file attached (derived.ts) index. */
  private indexTx: Database.Transaction<(limit: number) => number> | null = null;
  private indexedUptoStmt: Database.Statement | null = null;

  constructor(readonly db: Database.Database) {
    this.headStmt = db.prepare('SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1');
    // Positional parameters: binding 25 named values costs more than the insert itself.
    const insertRecord = db.prepare(`INSERT INTO records (${RECORD_COLUMNS.join(', ')}) VALUES (${RECORD_COLUMNS.map(() => '?').join(', ')})`);
    this.accessHead = db.prepare('SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1');
    this.insertAccess = db.prepare('INSERT INTO access_log (seq, ts, actor, action, params, result, detail, prev_hash, hash) VALUES (@seq, @ts, @actor, @action, @params, @result, @detail, @prev_hash, @hash)');
    this.appendTx = db.transaction(({ rows, seenBy: seen }: EntryRows) => {
      let { seq, hash } = this.head();
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        row[SEQ_AT] = ++seq;
        row[DAY_AT] = dayOf(row[TS_AT] as number);
        // The canonical form (canonicalRecord) is the JSON of the hashed fields in order: this row.
        const prev = hash;
        hash = chainHash(prev, JSON.stringify(row));
        // Who sees it rides along (not hashed: the users' view, not the record); the indexer
        // thread turns it into participant rows (see indexSome).
        row.push(prev, hash, seen[i]);
        insertRecord.run(row);
      }
      return { seq, hash };
    });
  }

  /**
   * The index pass over (upto, upto + limit]: participants (numbered JIDs, who sees what) and full
   * text, each in one statement, participants sorted by (jid, seq) so each page of the index is
   * visited once. A DEFERRED transaction whose first statement writes the index file: it takes
   * the index file's write lock and only reads the records file, so the writer's appends go on.
   */
  private prepareIndex(): Database.Transaction<(limit: number) => number> {
    const db = this.db;
    const claim = db.prepare("UPDATE index_state SET value = value WHERE key = 'indexed_upto' RETURNING value").pluck();
    const range = 'r.seq > @upto AND r.seq <= @last AND r.kind = \'message\'';
    const addJids = db.prepare(`INSERT OR IGNORE INTO jids (jid)
      SELECT r.sender_bare FROM records r WHERE ${range} AND r.sender_bare <> ''
      UNION SELECT r.recipient_bare FROM records r WHERE ${range} AND r.recipient_bare <> ''`);
    const addParties = db.prepare(`INSERT OR IGNORE INTO parties (jid, seq, with_jid, shown)
      SELECT s.id, r.seq, COALESCE(t.id, 0), (r.seen_by & ${SEEN_BY_SENDER}) <> 0
        FROM records r JOIN jids s ON s.jid = r.sender_bare LEFT JOIN jids t ON t.jid = r.recipient_bare
        WHERE ${range} AND r.sender_bare <> ''
      UNION ALL
      SELECT t.id, r.seq, COALESCE(s.id, 0), (r.seen_by & ${SEEN_BY_RECIPIENT}) <> 0
        FROM records r JOIN jids t ON t.jid = r.recipient_bare LEFT JOIN jids s ON s.jid = r.sender_bare
        WHERE ${range} AND r.recipient_bare <> '' AND r.recipient_bare <> r.sender_bare
      ORDER BY 1, 2`);
    // Only records with text are in the full-text index.
    const addText = db.prepare(`INSERT INTO records_fts (rowid, body, subject)
      SELECT r.seq, r.body, r.subject FROM records r WHERE ${range} AND (r.body <> '' OR r.subject <> '')`);
    const setUpto = db.prepare("UPDATE index_state SET value = ? WHERE key = 'indexed_upto'");
    return db.transaction((limit: number) => {
      const upto = claim.get() as number;
      const last = Math.min(this.head().seq, upto + limit);
      if (last <= upto) return 0;
      const bounds = { upto, last };
      addJids.run(bounds);
      addParties.run(bounds);
      addText.run(bounds);
      setUpto.run(last);
      return last - upto;
    });
  }

  /** How far the derived tables go (index file attached). */
  indexedUpto(): number {
    this.indexedUptoStmt ??= this.db.prepare("SELECT value FROM index_state WHERE key = 'indexed_upto'").pluck();
    return this.indexedUptoStmt.get() as number;
  }

  head(): ChainHead {
    return this.headStmt.get() ?? { seq: 0, hash: GENESIS_HASH };
  }

  /** Append entries to the chain in one durable transaction (all or none). */
  append(entries: PendingEntry[]): ArchiveRecord[] {
    const batch: EntryRows = { rows: [], seenBy: [] };
    for (const e of entries) pushEntry(batch, e);
    this.appendRows(batch);
    // views: the column of who saw a record before seen_by, '' in every record written since.
    return batch.rows.map((row) => ({ ...Object.fromEntries(RECORD_COLUMNS.map((c, i) => [c, row[i]])), views: '' }) as unknown as ArchiveRecord);
  }

  /**
   * The writer thread's append: rows from pushEntry, in one durable transaction (all or none).
   * Fills in each row's seq, day, prev_hash, hash and seen_by; returns the new head of the chain.
   */
  appendRows(batch: EntryRows): ChainHead {
    return this.appendTx.immediate(batch);
  }

  /**
   * Bring the derived tables (participants with their MAM views, full text; in the index file,
   * which must be attached) up to the head of the chain, at most `limit` records per transaction.
   * The indexer thread does this in the server; tools and tests call it before they read. Returns
   * how many records it indexed.
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
    this.indexTx ??= this.prepareIndex();
    return this.indexTx.deferred(limit);
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
