import type { KeyObject } from 'node:crypto';
import { accessHash, GENESIS_HASH, recordHash, type ArchiveRecord, type PurgeMeta } from './record.js';
import { checkCheckpointFile, verifySignature, type Checkpoint } from './signing.js';
import type { ArchiveStore } from './store.js';
import type { VerifyProblem, VerifyReport } from './service.js';

/** How far from its place a record is looked for when its hash matches another position. */
const REORDER_WINDOW = 16;

interface Gap { first: number; last: number; prev_hash: string; last_hash: string; purgeSeq: number }

/**
 * Check the archive as an auditor would: every record against its own hash, the chain links,
 * gaps against signed purge entries, the chain against the signed checkpoints kept outside the
 * database, and the access log's own chain. Problems come in chain order, so the first one names
 * the first record that was altered, inserted, reordered or removed.
 */
export function verifyArchive(store: ArchiveStore, publicKey: KeyObject, checkpointFile: string, extra: VerifyProblem[] = []): VerifyReport {
  const problems: VerifyProblem[] = [];
  const gaps = purgeGaps(store, publicKey, problems);

  let records = 0;
  let prev: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH };
  const hashes = new Map<number, string>();
  // Hashes of the records just before, and how long ago a problem was reported: a record moved
  // or inserted breaks the links around it, which must not be reported again as new damage.
  const recent: string[] = [];
  let sinceProblem = Infinity;
  const it = store.iterate();
  let next = it.next();
  while (!next.done) {
    const r = next.value;
    next = it.next();
    records++;
    hashes.set(r.seq, r.hash);
    const ahead = next.done ? undefined : next.value;
    const problem = checkRecord(r, prev, ahead, gaps, publicKey);
    const explained = problem?.kind === 'chain' && sinceProblem <= REORDER_WINDOW && recent.includes(r.prev_hash);
    if (problem && !explained) { problems.push(problem); sinceProblem = 0; } else sinceProblem++;
    recent.push(r.hash);
    if (recent.length > REORDER_WINDOW) recent.shift();
    prev = { seq: r.seq, hash: r.hash };
  }

  // Checkpoints: a chain recomputed by someone who can write the database no longer matches them.
  const { valid, problems: fileProblems } = checkCheckpointFile(checkpointFile, publicKey);
  for (const text of fileProblems) problems.push({ kind: 'checkpoint', message: text });
  problems.push(...checkAgainstCheckpoints(valid, hashes, gaps, prev.seq));

  const access = store.accessLog();
  let accessPrev = GENESIS_HASH;
  let accessSeq = 0;
  for (const e of access) {
    if (e.seq !== accessSeq + 1) problems.push({ kind: 'access-log', message: `access log entries ${accessSeq + 1}..${e.seq - 1} are missing` });
    else if (e.prev_hash !== accessPrev) problems.push({ kind: 'access-log', message: `access log entry ${e.seq} does not follow entry ${accessSeq}` });
    if (accessHash(e) !== e.hash) problems.push({ kind: 'access-log', message: `access log entry ${e.seq} was altered` });
    accessPrev = e.hash;
    accessSeq = e.seq;
  }

  problems.push(...extra);
  problems.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
  return { ok: problems.length === 0, records, checkpoints: valid.length, segments: 0, accessEntries: access.length, problems };
}

/** The gaps that signed purge entries account for. */
function purgeGaps(store: ArchiveStore, publicKey: KeyObject, problems: VerifyProblem[]): Map<number, Gap> {
  const gaps = new Map<number, Gap>();
  const purges = store.db.prepare("SELECT * FROM records WHERE kind = 'purge' ORDER BY seq").all() as ArchiveRecord[];
  for (const p of purges) {
    if (!verifySignature(publicKey, p.meta, p.signature)) {
      problems.push({ kind: 'signature', seq: p.seq, message: `purge entry ${p.seq} has no valid signature: the gaps it describes are not accounted for` });
      continue;
    }
    const meta = JSON.parse(p.meta) as PurgeMeta;
    for (const range of meta.ranges) gaps.set(range.first, { ...range, purgeSeq: p.seq });
  }
  return gaps;
}

function checkRecord(r: ArchiveRecord, prev: { seq: number; hash: string }, ahead: ArchiveRecord | undefined, gaps: Map<number, Gap>, publicKey: KeyObject): VerifyProblem | null {
  if (recordHash(r) !== r.hash) {
    const from = writtenAt(r);
    if (from !== null) {
      return { kind: 'reordered', seq: r.seq, message: `record ${r.seq} was moved: it was written as record ${from} (records are out of order)` };
    }
    return { kind: 'altered', seq: r.seq, message: `record ${r.seq} (id ${r.id}) was altered: its content no longer matches its hash` };
  }
  if ((r.kind === 'purge' || r.kind === 'seal') && !verifySignature(publicKey, r.meta, r.signature)) {
    return { kind: 'signature', seq: r.seq, message: `${r.kind} entry ${r.seq} has no valid signature` };
  }
  if (r.seq !== prev.seq + 1) return checkGap(r, prev, gaps);
  if (r.prev_hash === prev.hash) return null;
  if (ahead && ahead.seq === r.seq + 1 && ahead.prev_hash === prev.hash) {
    return { kind: 'inserted', seq: r.seq, message: `record ${r.seq} was inserted: the chain goes from record ${prev.seq} to record ${ahead.seq} without it` };
  }
  return { kind: 'chain', seq: r.seq, message: `record ${r.seq} does not follow record ${prev.seq}: the chain was broken here` };
}

/**
 * Records missing before `r` must be accounted for by purge ranges, one after the other (two
 * purges can leave touching gaps), each joining the hashes on both of its sides.
 */
function checkGap(r: ArchiveRecord, prev: { seq: number; hash: string }, gaps: Map<number, Gap>): VerifyProblem | null {
  let cur = prev;
  while (cur.seq + 1 < r.seq) {
    const gap = gaps.get(cur.seq + 1);
    if (!gap || gap.last >= r.seq) {
      const first = cur.seq + 1;
      const missing = first === r.seq - 1 ? `record ${first} is` : `records ${first}..${r.seq - 1} are`;
      return { kind: 'removed', seq: first, message: `${missing} missing: removed without a purge entry` };
    }
    if (gap.prev_hash !== cur.hash) {
      return { kind: 'removed', seq: gap.first, message: `the purge entry ${gap.purgeSeq} does not match the chain before records ${gap.first}..${gap.last}` };
    }
    cur = { seq: gap.last, hash: gap.last_hash };
  }
  if (cur.hash !== r.prev_hash) {
    return { kind: 'removed', seq: cur.seq, message: `record ${r.seq} does not follow the records purged before it (purge entry and chain disagree)` };
  }
  return null;
}

/** The position a record was hashed at, when it sits somewhere else now; null if none nearby. */
function writtenAt(r: ArchiveRecord): number | null {
  for (let d = 1; d <= REORDER_WINDOW; d++) {
    for (const seq of [r.seq - d, r.seq + d]) {
      if (seq > 0 && recordHash({ ...r, seq }) === r.hash) return seq;
    }
  }
  return null;
}

function checkAgainstCheckpoints(valid: Checkpoint[], hashes: Map<number, string>, gaps: Map<number, Gap>, lastSeq: number): VerifyProblem[] {
  const out: VerifyProblem[] = [];
  let lastGood = 0;
  const purged = (seq: number) => [...gaps.values()].some((g) => seq >= g.first && seq <= g.last);
  for (const c of valid) {
    const h = hashes.get(c.seq);
    if (h === undefined) {
      if (purged(c.seq)) continue;
      out.push(c.seq > lastSeq
        ? { kind: 'removed', seq: lastSeq + 1, message: `records ${lastSeq + 1}..${c.seq} are missing: the signed checkpoint of ${new Date(c.ts).toISOString()} names record ${c.seq}` }
        : { kind: 'removed', seq: c.seq, message: `record ${c.seq}, named by a signed checkpoint, is missing` });
    } else if (h !== c.hash) {
      out.push({ kind: 'checkpoint', seq: lastGood + 1, message: `the chain was rewritten: record ${c.seq} differs from the signed checkpoint of ${new Date(c.ts).toISOString()}; the change is in records ${lastGood + 1}..${c.seq}` });
    } else {
      lastGood = c.seq;
    }
  }
  return out;
}
