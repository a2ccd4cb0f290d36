import { randomUUID } from 'node:crypto';
import type { ArchiveConfig } from './config.js';
import { activeHoldCoversSql, holdCoversSql } from './holds.js';
import { DAY_MS, dayOf, type ArchiveRecord, type PurgeMeta, type RecordInput } from './record.js';
import type { ArchiveSigner } from './signing.js';
import type { ArchiveStore } from './store.js';

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export type RetentionConfig = ArchiveConfig['retention'];

/** What the rule needs of the directory service: a person's group names. */
export interface GroupDirectory { groupsOf(bare: string): readonly string[] }

/** The retain_until of a record: the first UTC day (YYYY-MM-DD) on which it may be purged. */
export type RetentionRule = (ts: number, localParticipants: string[]) => string;

/**
 * Build the rule capture uses to stamp retain_until. Each local participant's period is the
 * longest of their groups' rules, else their domain's rule, else the default (a specific rule
 * overrides the general one, even when shorter); the record keeps the longest period of any
 * participant, so the strictest obligation wins. Periods count from the record's UTC day (see
 * expiryDay), so all records of a day with the same period expire together and a day is purged
 * as a whole.
 */
export function retentionRule(config: RetentionConfig, directory?: GroupDirectory): RetentionRule {
  const domains = lowerKeys(config.domains);
  const groups = lowerKeys(config.groups);
  const periodOf = (participant: string): number => {
    const slash = participant.indexOf('/');
    const bare = (slash < 0 ? participant : participant.slice(0, slash)).toLowerCase();
    if (groups.size > 0 && directory) {
      let longest = -1;
      for (const g of directory.groupsOf(bare)) longest = Math.max(longest, groups.get(g.toLowerCase()) ?? -1);
      if (longest >= 0) return longest;
    }
    return domains.get(bare.slice(bare.indexOf('@') + 1)) ?? config.default;
  };
  // Nearly every record is of the same day as the one before, with one of a few periods: the
  // answers of the current day are kept instead of doing date arithmetic per record.
  let cachedDay = '';
  const untilByPeriod = new Map<number, string>();
  return (ts, localParticipants) => {
    let period = localParticipants.length === 0 ? config.default : -1;
    for (const p of localParticipants) period = Math.max(period, periodOf(p));
    const day = dayOf(ts);
    if (day !== cachedDay) { cachedDay = day; untilByPeriod.clear(); }
    let until = untilByPeriod.get(period);
    if (until === undefined) { until = expiryDay(day, period); untilByPeriod.set(period, until); }
    return until;
  };
}

const YEAR_MS = 365 * DAY_MS;

/**
 * The first day a record of `day` may go: the period is counted in calendar years when it is a
 * whole number of years ("7y" from 2018-03-01 ends on 2025-03-01, leap days included), else in
 * whole days rounded up; and only the day after it ends, so a message written at 23:59 is kept
 * for no less than the full period (SEC 17a-4: "not less than").
 */
export function expiryDay(day: string, periodMs: number): string {
  const start = new Date(`${day}T00:00:00Z`);
  if (periodMs > 0 && periodMs % YEAR_MS === 0) {
    const end = new Date(start);
    end.setUTCFullYear(start.getUTCFullYear() + periodMs / YEAR_MS);
    // 29 February plus whole years lands on 1 March in common years: a day later, never earlier.
    return addDays(dayOf(end.getTime()), 1);
  }
  return addDays(day, Math.ceil(periodMs / DAY_MS) + 1);
}

function lowerKeys(rules: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(rules).map(([k, v]) => [k.toLowerCase(), v]));
}

function addDays(day: string, days: number): string {
  return dayOf(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS);
}

export interface PurgeOptions {
  /** The UTC day the purge runs on: records with retain_until <= today are due. */
  today: string;
  /** Why, for the purge entry (default 'retention'). */
  reason?: string;
  /** Only purge days that have been sealed into segment files (a copy exists on WORM storage). */
  requireSealed?: boolean;
  /** The purge entry's ts (default now). */
  now?: number;
  /** Only records of this UTC day: a large purge goes day by day, one short transaction each. */
  day?: string;
}

export interface PurgeResult {
  /** Days from which records were removed. */
  days: string[];
  count: number;
  /** Holds that kept expired records. */
  held: string[];
  /** The signed purge entry appended to the chain, or null when nothing was due. */
  entry: ArchiveRecord | null;
}

/** Seqs chosen by the current purge. A temp table keeps a purge of millions of records out of memory. */
const PURGE_SET = 'temp.archive_purge_set';

/**
 * Remove the expired messages no active hold covers, and account for them in the chain: the
 * records, their full-text rows and their participant rows (the MAM views) go, and one signed kind='purge' entry
 * lists the removed seq ranges with the hashes on both sides of each gap, so a verifier can
 * still check the chain across it. All of it is one IMMEDIATE transaction: a purge that fails
 * leaves no gap, and no writer can append between the choice of records and the purge entry.
 * The chain's own entries (purge, seal) are never purged.
 */
export function purgeExpired(store: ArchiveStore, signer: ArchiveSigner, opts: PurgeOptions): PurgeResult {
  if (!DAY_PATTERN.test(opts.today)) throw new RangeError(`not a day (YYYY-MM-DD): ${opts.today}`);
  // Purging removes full-text and participant rows, which must exist first (they trail the writes a little).
  store.indexPending();
  store.db.exec(`CREATE TABLE IF NOT EXISTS ${PURGE_SET} (seq INTEGER PRIMARY KEY)`);
  return store.db.transaction((): PurgeResult => {
    const held = choosePurgeSet(store, opts);
    const days = (store.db.prepare(`SELECT DISTINCT r.day FROM records r JOIN ${PURGE_SET} p ON p.seq = r.seq ORDER BY r.day`)
      .all() as { day: string }[]).map((d) => d.day);
    const ranges = removedRanges(store);
    const count = ranges.reduce((n, g) => n + g.last - g.first + 1, 0);
    if (count === 0) return { days: [], count: 0, held, entry: null };
    deletePurgeSet(store);
    const meta: PurgeMeta = { reason: opts.reason ?? 'retention', cutoff: opts.today, days, count, ranges, held };
    const [entry] = store.append([{ record: signedEntry('purge', JSON.stringify(meta), signer, opts.now ?? Date.now()), views: [] }]);
    store.db.prepare(`DELETE FROM ${PURGE_SET}`).run();
    return { days, count, held, entry: entry! };
  }).immediate();
}

/**
 * Fill the purge set with the due messages no active hold covers; return the holds that keep
 * due messages. retain_until is the same for all records of a (day, retention class), so whole
 * periods fall due together; only held records stay behind.
 */
function choosePurgeSet(store: ArchiveStore, opts: PurgeOptions): string[] {
  const due = `r.kind = 'message' AND r.retain_until <> '' AND r.retain_until <= @today`
    + (opts.requireSealed ? ' AND r.day IN (SELECT day FROM segments)' : '')
    + (opts.day ? ' AND r.day = @day' : '');
  const params = opts.day ? { today: opts.today, day: opts.day } : { today: opts.today };
  store.db.prepare(`DELETE FROM ${PURGE_SET}`).run();
  store.db.prepare(`INSERT INTO ${PURGE_SET} (seq) SELECT r.seq FROM records r WHERE ${due} AND NOT ${activeHoldCoversSql('r')}`).run(params);
  const held = store.db.prepare(`SELECT h.id FROM holds h WHERE EXISTS (SELECT 1 FROM records r WHERE ${due} AND ${holdCoversSql('h', 'r')})
    ORDER BY h.placed_at, h.id`).all(params) as { id: string }[];
  return held.map((h) => h.id);
}

/**
 * The purge set as runs of consecutive seqs (gaps and islands), each with the prev_hash of its
 * first record and the hash of its last: the hashes the records on either side must link to.
 */
function removedRanges(store: ArchiveStore): PurgeMeta['ranges'] {
  const runs = store.db.prepare(`SELECT min(seq) AS first, max(seq) AS last FROM
    (SELECT seq, seq - row_number() OVER (ORDER BY seq) AS island FROM ${PURGE_SET}) GROUP BY island ORDER BY first`)
    .all() as { first: number; last: number }[];
  return runs.map(({ first, last }) => ({
    first,
    last,
    prev_hash: store.bySeq(first)!.prev_hash,
    last_hash: store.bySeq(last)!.hash,
  }));
}

/**
 * Delete the purge set's records with their index rows (participants and full text, in the index
 * file: derived.ts). The participant rows are found by primary key (jid, seq) from the records,
 * so they go first. SQLite commits the two files one after the other: a stop in between leaves
 * either index rows of removed records (no query shows them: every read joins the records) or due
 * records without index rows until the next purge removes them.
 */
function deletePurgeSet(store: ArchiveStore): void {
  const db = store.db;
  db.prepare(`DELETE FROM records_fts WHERE rowid IN (SELECT seq FROM ${PURGE_SET})`).run();
  db.prepare(`DELETE FROM parties WHERE (jid, seq) IN (SELECT j.id, r.seq FROM ${PURGE_SET} p JOIN records r ON r.seq = p.seq
    JOIN jids j ON j.jid = r.sender_bare OR j.jid = r.recipient_bare)`).run();
  db.prepare(`DELETE FROM records WHERE seq IN (SELECT seq FROM ${PURGE_SET})`).run();
}

/**
 * One of the chain's own entries (purge, seal): no message fields, never purged (retain_until
 * ''), its meta signed with the key kept outside the database, so rewriting the database and
 * recomputing the chain still cannot forge what a purge removed or what a seal covers.
 */
/** The UTC days that have records due for purging (held ones included), oldest first. */
export function dueDays(store: ArchiveStore, opts: Pick<PurgeOptions, 'today' | 'requireSealed'>): string[] {
  const sealed = opts.requireSealed ? ' AND day IN (SELECT day FROM segments)' : '';
  return (store.db.prepare(`SELECT DISTINCT day FROM records WHERE kind = 'message' AND retain_until <> '' AND retain_until <= ?${sealed} ORDER BY day`)
    .all(opts.today) as { day: string }[]).map((r) => r.day);
}

export function signedEntry(kind: 'purge' | 'seal', meta: string, signer: ArchiveSigner, now: number): RecordInput {
  return {
    id: randomUUID(), ts: now, kind, type: '', sender: '', sender_bare: '', recipient: '', recipient_bare: '', room: '',
    direction: '', outcome: '', decision: '', body: '', subject: '', thread: '', stanza: '', delivered: '',
    retain_until: '', meta, signature: signer.sign(meta),
  };
}
