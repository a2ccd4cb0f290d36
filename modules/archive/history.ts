import type Database from 'better-sqlite3';
import { HistoryIdNotFound, type HistoryItem, type HistoryPage, type HistoryQuery } from './service.js';

/**
 * Users' history (XEP-0313 user archives) read from the archive database: an account's view is
 * its `parties` rows with shown = 1 joined to the message records. Accounts and contacts are
 * numbers there (table `jids`), looked up once per statement. Everything here walks the indexes
 * (`parties` primary key (jid, seq), `parties_with` (jid, with_jid, shown, seq), `records` by seq and id)
 * and reads at most one page plus one row; sizes come from COUNT(*), never from loading the
 * history.
 */

/** What narrows an account's view: the query's filters, or a deletion's. */
interface ViewFilter {
  with?: string;
  start?: number;
  end?: number;
  /** Exclusive bounds on the record's position. */
  afterSeq?: number;
  beforeSeq?: number;
  /** Exactly these positions. */
  seqs?: number[];
}

type Params = Record<string, string | number>;

interface Where { sql: string; params: Params }

interface ItemRow { seq: number; id: string; ts: number; stanza: string; delivered: string }

const ITEM_COLUMNS = 'v.seq AS seq, r.id AS id, r.ts AS ts, r.stanza AS stanza, r.delivered AS delivered';
const VIEW = 'parties v JOIN records r ON r.seq = v.seq';
/**
 * A bare JID's number in table jids, or -1 (matches nothing) when it has none. Looked up before
 * the query, so SQLite plans with plain equalities on the parties indexes.
 */
function numberOf(db: Database.Database, bare: string): number {
  return (prepared(db, 'SELECT id FROM jids WHERE jid = ?').pluck().get(bare) as number | undefined) ?? -1;
}

/**
 * Prepared statements per database and SQL text. The SQL varies only with which filters are
 * present (a few dozen shapes), so the cache stays small.
 */
const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();

function prepared(db: Database.Database, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) { cache = new Map(); statements.set(db, cache); }
  let stmt = cache.get(sql);
  if (!stmt) { stmt = db.prepare(sql); cache.set(sql, stmt); }
  return stmt;
}

/** The bare part of a JID string (the JIDs here are already prepared by the caller). */
function bareOf(jid: string): string {
  const slash = jid.indexOf('/');
  return slash < 0 ? jid : jid.slice(0, slash);
}

/**
 * The WHERE clause of an owner's view under a filter. Only message records count: the chain's own
 * entries (purge, seal) never have view rows, and a purged record takes its view rows' meaning
 * with it (the join drops them).
 */
function whereOf(db: Database.Database, owner: string, f: ViewFilter): Where {
  const clauses = ['v.jid = @owner', 'v.shown = 1', "r.kind = 'message'"];
  const params: Params = { owner: numberOf(db, owner) };
  if (f.with !== undefined) {
    // XEP-0313 4.1.1: a bare JID matches the contact whatever the resource; a full JID matches
    // only messages to or from that exact address.
    clauses.push('v.with_jid = @withBare');
    params.withBare = numberOf(db, bareOf(f.with));
    if (f.with.includes('/')) {
      clauses.push('(r.sender = @withFull OR r.recipient = @withFull)');
      params.withFull = f.with;
    }
  }
  if (f.start !== undefined) { clauses.push('r.ts >= @start'); params.start = f.start; }
  if (f.end !== undefined) { clauses.push('r.ts <= @end'); params.end = f.end; }
  if (f.afterSeq !== undefined) { clauses.push('v.seq > @afterSeq'); params.afterSeq = f.afterSeq; }
  if (f.beforeSeq !== undefined) { clauses.push('v.seq < @beforeSeq'); params.beforeSeq = f.beforeSeq; }
  if (f.seqs !== undefined) {
    // One statement for any number of ids: the list travels as a JSON array.
    clauses.push('v.seq IN (SELECT value FROM json_each(@seqs))');
    params.seqs = JSON.stringify(f.seqs);
  }
  return { sql: clauses.join(' AND '), params };
}

/** The position of an archive id in the owner's view; HistoryIdNotFound when the owner does not see it. */
function seqInView(db: Database.Database, owner: string, id: string): number {
  const row = prepared(db, `SELECT v.seq AS seq FROM records r JOIN parties v ON v.jid = @owner AND v.seq = r.seq AND v.shown = 1
    WHERE r.id = @id AND r.kind = 'message'`).get({ owner: numberOf(db, owner), id }) as { seq: number } | undefined;
  if (!row) throw new HistoryIdNotFound(id);
  return row.seq;
}

function countWhere(db: Database.Database, where: Where, extra = '', extraParams: Params = {}): number {
  const row = prepared(db, `SELECT COUNT(*) AS n FROM ${VIEW} WHERE ${where.sql}${extra}`).get({ ...where.params, ...extraParams }) as { n: number };
  return row.n;
}

function itemOf(row: ItemRow): HistoryItem {
  // The message as its recipient got it: the delivered form when policy rewrote it.
  return { id: row.id, ts: row.ts, stanza: row.delivered !== '' ? row.delivered : row.stanza };
}

/**
 * One page of an account's history (XEP-0313 over XEP-0059), in archive order.
 *
 * The result set is the owner's view narrowed by with, start/end, after-id/before-id and ids.
 * Paging inside it: `after` (forward from an id), `before` (backward to an id; '' is the last
 * page), `index` (forward from an offset), or the first page. `complete` is true when the page
 * reaches the end of the result set in the direction of paging (XEP-0313 4.3.2: the last page
 * forward, the first page backward).
 *
 * Throws HistoryIdNotFound when an id of after-id, before-id, ids, RSM after or RSM before is not
 * in the owner's view (XEP-0313: item-not-found), including ids the owner deleted from it.
 */
export function queryHistory(db: Database.Database, q: HistoryQuery): HistoryPage {
  const owner = q.owner;
  const max = Math.max(0, Math.floor(q.max));
  const where = whereOf(db, owner, {
    with: q.with,
    start: q.start,
    end: q.end,
    afterSeq: q.afterId !== undefined ? seqInView(db, owner, q.afterId) : undefined,
    beforeSeq: q.beforeId !== undefined ? seqInView(db, owner, q.beforeId) : undefined,
    seqs: q.ids !== undefined ? q.ids.map((id) => seqInView(db, owner, id)) : undefined,
  });
  const count = countWhere(db, where);

  // One row more than the page tells whether the page reaches the end in its direction.
  const limit = max + 1;
  const backward = q.before !== undefined;
  let rows: ItemRow[];
  let offset = 0;
  if (backward) {
    const position = q.before === '' ? '' : ' AND v.seq < @rsmBefore';
    const params = q.before === '' ? where.params : { ...where.params, rsmBefore: seqInView(db, owner, q.before!) };
    rows = (prepared(db, `SELECT ${ITEM_COLUMNS} FROM ${VIEW} WHERE ${where.sql}${position} ORDER BY v.seq DESC LIMIT @limit`)
      .all({ ...params, limit }) as ItemRow[]);
  } else if (q.after !== undefined) {
    rows = prepared(db, `SELECT ${ITEM_COLUMNS} FROM ${VIEW} WHERE ${where.sql} AND v.seq > @rsmAfter ORDER BY v.seq LIMIT @limit`)
      .all({ ...where.params, rsmAfter: seqInView(db, owner, q.after), limit }) as ItemRow[];
  } else {
    offset = Math.max(0, Math.floor(q.index ?? 0));
    rows = prepared(db, `SELECT ${ITEM_COLUMNS} FROM ${VIEW} WHERE ${where.sql} ORDER BY v.seq LIMIT @limit OFFSET @offset`)
      .all({ ...where.params, limit, offset }) as ItemRow[];
  }

  const complete = rows.length <= max;
  const page = rows.slice(0, max);
  if (backward) page.reverse();

  let firstIndex: number;
  if (page.length === 0) {
    // Where the page would have started (not sent: an empty RSM set has no <first/>).
    firstIndex = backward ? 0 : q.after !== undefined ? count : Math.min(offset, count);
  } else if (!backward && q.after === undefined) {
    firstIndex = offset;
  } else if (backward && q.before === '') {
    firstIndex = count - page.length;
  } else {
    firstIndex = countWhere(db, where, ' AND v.seq < @firstSeq', { firstSeq: page[0]!.seq });
  }
  return { items: page.map(itemOf), complete, count, firstIndex };
}

/** The first and last message of an account's history (XEP-0313 #extended metadata), or null when it is empty. */
export function historyBounds(db: Database.Database, owner: string): { first: HistoryItem; last: HistoryItem } | null {
  const edge = (order: 'ASC' | 'DESC') => prepared(db,
    `SELECT ${ITEM_COLUMNS} FROM ${VIEW} WHERE v.jid = ? AND v.shown = 1 AND r.kind = 'message' ORDER BY v.seq ${order} LIMIT 1`)
    .get(numberOf(db, owner)) as ItemRow | undefined;
  const first = edge('ASC');
  const last = edge('DESC');
  return first && last ? { first: itemOf(first), last: itemOf(last) } : null;
}

/**
 * Remove messages from an account's view (the user deletes their history). Only the account's
 * `parties` rows change (shown = 0): the records, who took part in them (for e-discovery), and
 * every other participant's view stay. Ids the owner does not see are
 * ignored (deleting what is already gone is not an error). An empty filter empties the view.
 * Returns how many messages left the view.
 */
export function hideFromHistory(db: Database.Database, owner: string,
  filter: { with?: string; start?: number; end?: number; ids?: string[] }): number {
  const unfiltered = filter.with === undefined && filter.start === undefined && filter.end === undefined && filter.ids === undefined;
  if (unfiltered) return prepared(db, 'UPDATE parties SET shown = 0 WHERE jid = ? AND shown = 1').run(numberOf(db, owner)).changes;
  let seqs: number[] | undefined;
  if (filter.ids !== undefined) {
    seqs = [];
    for (const id of filter.ids) {
      try { seqs.push(seqInView(db, owner, id)); } catch (err) { if (!(err instanceof HistoryIdNotFound)) throw err; }
    }
    if (seqs.length === 0) return 0;
  }
  const where = whereOf(db, owner, { with: filter.with, start: filter.start, end: filter.end, seqs });
  return prepared(db, `UPDATE parties SET shown = 0 WHERE jid = @owner AND shown = 1 AND seq IN (SELECT v.seq FROM ${VIEW} WHERE ${where.sql})`)
    .run(where.params).changes;
}
