import { randomUUID } from 'node:crypto';
import { Jid } from '../../server/api/index.js';
import type { ArchiveRecord } from './record.js';
import type { Hold } from './service.js';
import type { ArchiveStore } from './store.js';

/**
 * Legal holds: while a hold is active, nothing it covers is purged, whatever retention says.
 * A hold names people or rooms (bare JIDs) and an optional time range; it is never deleted,
 * only released, so the archive keeps who placed and who lifted it.
 */

/** A refused hold operation (unknown id, released twice, a hold that covers nobody). */
export class HoldError extends Error {
  override name = 'HoldError';
}

export interface HoldRequest {
  name: string;
  jids: string[];
  /** Covered time range, ms, inclusive; absent = open. */
  start?: number;
  end?: number;
  reason?: string;
  placedBy: string;
}

interface HoldRow {
  id: string; name: string; jids: string; start_ts: number | null; end_ts: number | null; reason: string;
  placed_by: string; placed_at: number; released_by: string | null; released_at: number | null;
}

/**
 * SQL that is true when an active hold covers the record aliased `r`. Purge uses it in its WHERE
 * clause so held records are excluded in the database, however many records a day has. Hold JIDs
 * are stored lower-cased; lower() on the record's side only guards against an unnormalized JID.
 */
export function activeHoldCoversSql(r = 'r'): string {
  return `EXISTS (SELECT 1 FROM holds h WHERE ${holdCoversSql('h', r)})`;
}

/** SQL: hold `h` is active and covers record `r` (participant among its JIDs, ts within its range). */
export function holdCoversSql(h = 'h', r = 'r'): string {
  return `${h}.released_at IS NULL`
    + ` AND (${h}.start_ts IS NULL OR ${r}.ts >= ${h}.start_ts) AND (${h}.end_ts IS NULL OR ${r}.ts <= ${h}.end_ts)`
    + ` AND EXISTS (SELECT 1 FROM json_each(${h}.jids) j WHERE j.value IN (lower(${r}.sender_bare), lower(${r}.recipient_bare), lower(${r}.room)))`;
}

/** The same rule as holdCoversSql, for one record in memory (released holds cover nothing). */
export function coversRecord(hold: Hold, record: Pick<ArchiveRecord, 'ts' | 'sender_bare' | 'recipient_bare' | 'room'>): boolean {
  if (hold.releasedAt !== null) return false;
  if (hold.start !== null && record.ts < hold.start) return false;
  if (hold.end !== null && record.ts > hold.end) return false;
  const parties = [record.sender_bare, record.recipient_bare, record.room].filter((j) => j !== '').map((j) => j.toLowerCase());
  return parties.some((p) => hold.jids.includes(p));
}

/** Place a hold. JIDs are stored as lower-cased bare JIDs (a resource is dropped). */
export function placeHold(store: ArchiveStore, request: HoldRequest, now = Date.now()): Hold {
  const hold: Hold = {
    id: randomUUID(),
    name: request.name.trim(),
    jids: normalizeJids(request.jids),
    start: request.start ?? null,
    end: request.end ?? null,
    reason: request.reason ?? '',
    placedBy: request.placedBy,
    placedAt: now,
    releasedBy: null,
    releasedAt: null,
  };
  if (hold.name === '') throw new HoldError('a hold needs a name (the case or matter)');
  if (hold.start !== null && hold.end !== null && hold.start > hold.end) throw new HoldError('a hold\'s start is after its end');
  store.db.prepare(`INSERT INTO holds (id, name, jids, start_ts, end_ts, reason, placed_by, placed_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(hold.id, hold.name, JSON.stringify(hold.jids), hold.start, hold.end, hold.reason, hold.placedBy, hold.placedAt);
  return hold;
}

/** Release an active hold. Releasing an unknown or already released hold is refused. */
export function releaseHold(store: ArchiveStore, id: string, releasedBy: string, now = Date.now()): Hold {
  return store.db.transaction(() => {
    const hold = getHold(store, id);
    if (!hold) throw new HoldError(`no hold with id ${id}`);
    if (hold.releasedAt !== null) throw new HoldError(`hold ${id} was already released by ${hold.releasedBy}`);
    store.db.prepare('UPDATE holds SET released_by = ?, released_at = ? WHERE id = ?').run(releasedBy, now, id);
    return { ...hold, releasedBy, releasedAt: now };
  }).immediate();
}

export function getHold(store: ArchiveStore, id: string): Hold | undefined {
  const row = store.db.prepare('SELECT * FROM holds WHERE id = ?').get(id) as HoldRow | undefined;
  return row && toHold(row);
}

/** Active holds, or all of them with includeReleased, oldest first. */
export function listHolds(store: ArchiveStore, opts: { includeReleased?: boolean } = {}): Hold[] {
  const where = opts.includeReleased ? '' : 'WHERE released_at IS NULL';
  const rows = store.db.prepare(`SELECT * FROM holds ${where} ORDER BY placed_at, id`).all() as HoldRow[];
  return rows.map(toHold);
}

function normalizeJids(jids: string[]): string[] {
  const out = new Set<string>();
  for (const text of jids) {
    const jid = Jid.tryParse(text.trim());
    if (!jid) throw new HoldError(`not a JID: ${text}`);
    out.add(jid.bare.toLowerCase());
  }
  if (out.size === 0) throw new HoldError('a hold must name at least one person or room');
  return [...out];
}

function toHold(row: HoldRow): Hold {
  return {
    id: row.id,
    name: row.name,
    jids: JSON.parse(row.jids) as string[],
    start: row.start_ts,
    end: row.end_ts,
    reason: row.reason,
    placedBy: row.placed_by,
    placedAt: row.placed_at,
    releasedBy: row.released_by,
    releasedAt: row.released_at,
  };
}
