import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { VerifyProblem } from './service.js';
import { dayOf, HASHED_FIELDS, recordHash, type ArchiveRecord, type SealMeta } from './record.js';
import { signedEntry } from './retention.js';
import { verifySignature, type ArchiveSigner } from './signing.js';
import type { ArchiveStore } from './store.js';

/**
 * Sealing: each closed UTC day is written to a compressed JSON Lines file with a signature file
 * beside it, ready to copy to WORM storage, and a signed kind='seal' entry records it in the
 * chain. A sealed day can then be checked without the database, and the database against it.
 */

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
/** Records per gzip member: bounds memory on a busy day (a file of several members is still one gzip file, RFC 1952 2.2). */
const PAGE = 1000;
const SEGMENT_FILE = /^archive-(\d{4}-\d{2}-\d{2})\.(jsonl\.gz|sig\.json)$/;

export const segmentFileName = (day: string) => `archive-${day}.jsonl.gz`;
export const signatureFileName = (day: string) => `archive-${day}.sig.json`;

/** The .sig.json file: the SealMeta, when it was signed, and the signature of sealMetaText. */
export interface SealSignatureFile extends SealMeta { ts: number; signature: string }

/** The canonical text of a SealMeta that is signed, with the keys in a fixed order. */
export function sealMetaText(m: SealMeta): string {
  return JSON.stringify({ day: m.day, file: m.file, sha256: m.sha256, first_seq: m.first_seq, last_seq: m.last_seq, count: m.count });
}

/** Thrown when a segment file exists with other content: it is never overwritten. */
export class SegmentConflictError extends Error {}

/**
 * Seal every day before `before` that has records and no segment yet, oldest first. `before`
 * may not be after today: a day still open would get records after its seal. Each day is
 * committed on its own; an error stops at that day and leaves the earlier ones sealed.
 */
export function sealDays(store: ArchiveStore, signer: ArchiveSigner, dir: string, opts: { before: string; now?: number }): SealMeta[] {
  const now = opts.now ?? Date.now();
  if (!DAY_PATTERN.test(opts.before)) throw new RangeError(`not a day (YYYY-MM-DD): ${opts.before}`);
  if (opts.before > dayOf(now)) throw new RangeError(`cannot seal ${opts.before}: days up to today (${dayOf(now)}) are still open`);
  fs.mkdirSync(dir, { recursive: true });
  const days = (store.db.prepare('SELECT DISTINCT day FROM records WHERE day < ? AND day NOT IN (SELECT day FROM segments) ORDER BY day')
    .all(opts.before) as { day: string }[]).map((d) => d.day);
  const sealed: SealMeta[] = [];
  for (const day of days) {
    const meta = sealDay(store, signer, dir, day, now);
    if (meta) sealed.push(meta);
  }
  return sealed;
}

/**
 * Seal one day. The file is written from a read snapshot without holding the write lock (a big
 * day takes a while to compress, and the writer thread must keep appending); then, in one short
 * IMMEDIATE transaction, the day is checked to be unchanged, the files take their final names
 * and the segment row and seal entry are written. Returns null when another process sealed it.
 */
function sealDay(store: ArchiveStore, signer: ArchiveSigner, dir: string, day: string, now: number): SealMeta | null {
  const tmp = path.join(dir, `.${segmentFileName(day)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const created: string[] = [];
  try {
    const written = store.db.transaction(() => writeSegment(store, day, tmp))();
    const meta: SealMeta = { day, file: segmentFileName(day), ...written };
    const text = sealMetaText(meta);
    const signature = signer.sign(text);
    return store.db.transaction((): SealMeta | null => {
      if (store.db.prepare('SELECT 1 FROM segments WHERE day = ?').get(day)) return null;
      assertUnchanged(store, meta);
      if (placeFile(tmp, path.join(dir, meta.file), (existing) => sha256File(existing) === meta.sha256)) created.push(meta.file);
      const sigFile: SealSignatureFile = { ...(JSON.parse(text) as SealMeta), ts: now, signature };
      if (placeText(dir, signatureFileName(day), `${JSON.stringify(sigFile, null, 2)}\n`, (existing) => sameSeal(existing, text, signer.publicKey))) created.push(signatureFileName(day));
      syncDir(dir);
      store.db.prepare('INSERT INTO segments (day, file, sha256, first_seq, last_seq, count, sealed_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(day, meta.file, meta.sha256, meta.first_seq, meta.last_seq, meta.count, now);
      store.append([{ record: signedEntry('seal', text, signer, now), views: [] }]);
      return meta;
    }).immediate();
  } catch (err) {
    // Files this attempt put under a final name must not outlive the rollback: the next attempt would meet them.
    for (const f of created) fs.rmSync(path.join(dir, f), { force: true });
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Write the day's records (all columns, seq order, one JSON object a line) gzipped to `file`, fsync'd. */
function writeSegment(store: ArchiveStore, day: string, file: string): Omit<SealMeta, 'day' | 'file'> {
  const page = store.db.prepare('SELECT * FROM records WHERE day = ? AND seq > ? ORDER BY seq LIMIT ?');
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'wx', 0o440);
  let first = 0;
  let last = 0;
  let count = 0;
  try {
    for (;;) {
      const rows = page.all(day, last, PAGE) as ArchiveRecord[];
      if (rows.length === 0) break;
      const gz = zlib.gzipSync(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
      fs.writeSync(fd, gz);
      hash.update(gz);
      if (count === 0) first = rows[0]!.seq;
      last = rows.at(-1)!.seq;
      count += rows.length;
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { sha256: hash.digest('hex'), first_seq: first, last_seq: last, count };
}

/** A record appended or purged for the day since the snapshot would be missing from (or extra in) the file. */
function assertUnchanged(store: ArchiveStore, meta: SealMeta): void {
  const now = store.db.prepare('SELECT count(*) AS count, min(seq) AS first, max(seq) AS last FROM records WHERE day = ?')
    .get(meta.day) as { count: number; first: number; last: number };
  if (now.count !== meta.count || now.first !== meta.first_seq || now.last !== meta.last_seq) {
    throw new Error(`the records of ${meta.day} changed while it was being sealed; seal again`);
  }
}

/**
 * Give `tmp` its final name without ever replacing a file: a hard link fails when the name is
 * taken. A file already there is accepted only if `isSame` (a crash after the rename but before
 * the commit leaves exactly the file this attempt would write). Returns whether it was created.
 */
function placeFile(tmp: string, final: string, isSame: (existing: string) => boolean): boolean {
  try {
    fs.linkSync(tmp, final);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return keepExisting(final, isSame);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    // A file system without hard links: check, then rename (sealing runs in one process at a time).
    if (fs.existsSync(final)) return keepExisting(final, isSame);
    fs.renameSync(tmp, final);
    return true;
  }
}

function keepExisting(final: string, isSame: (existing: string) => boolean): false {
  if (isSame(final)) return false;
  throw new SegmentConflictError(`${final} exists with other content; it is never overwritten (move it aside if it is not a valid segment)`);
}

/** Write a small file through a temp name and placeFile. */
function placeText(dir: string, name: string, text: string, isSame: (existing: string) => boolean): boolean {
  const tmp = path.join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx', 0o440);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return placeFile(tmp, path.join(dir, name), isSame);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** An existing signature file left by an earlier attempt is as good as a new one if it signs the same meta. */
function sameSeal(file: string, text: string, publicKey: KeyObject): boolean {
  const sig = readSignatureFile(file);
  return sig !== null && sealMetaText(sig) === text && verifySignature(publicKey, text, sig.signature);
}

/** Make the renames durable: the directory entry is fsync'd like the file. */
function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function readSignatureFile(file: string): SealSignatureFile | null {
  try {
    const sig = JSON.parse(fs.readFileSync(file, 'utf8')) as SealSignatureFile;
    return typeof sig.signature === 'string' && typeof sig.day === 'string' ? sig : null;
  } catch {
    return null;
  }
}

/** The records of a segment file, in file order. Throws when the file is not gzip or a line not JSON. */
export function readSegmentRecords(file: string): ArchiveRecord[] {
  const data = zlib.gunzipSync(fs.readFileSync(file));
  const records: ArchiveRecord[] = [];
  let start = 0;
  // Split the buffer, not one string: a busy day can exceed V8's largest string.
  for (let nl = data.indexOf(10); nl !== -1; start = nl + 1, nl = data.indexOf(10, start)) {
    records.push(JSON.parse(data.toString('utf8', start, nl)) as ArchiveRecord);
  }
  if (start < data.length) throw new Error('the last line is not terminated');
  return records;
}

interface SegmentRow extends SealMeta { sealed_at: number }

/**
 * Check every sealed day: its file is there and unchanged (SHA-256), its signature file and its
 * seal entry in the chain sign the same meta, the file's records are a valid chain that matches
 * the table, and the database still holds exactly those records (a purged seq is no problem
 * here: the chain's purge entries account for it). Segment files the table does not list are
 * reported too: left by a crash, or put there by someone.
 */
export function verifySegments(store: ArchiveStore, publicKey: KeyObject, dir: string): VerifyProblem[] {
  const rows = store.db.prepare('SELECT * FROM segments ORDER BY day').all() as SegmentRow[];
  const seals = sealEntries(store);
  const problems: VerifyProblem[] = [];
  for (const row of rows) {
    problems.push(...checkSealEntry(row, seals.get(row.day), publicKey));
    problems.push(...checkSegment(store, publicKey, dir, row));
  }
  const listed = new Set(rows.map((r) => r.day));
  for (const [day, entry] of seals) {
    if (!listed.has(day)) problems.push({ kind: 'segment', seq: entry.seq, message: `seal entry for ${day} has no row in the segments table` });
  }
  problems.push(...unlistedFiles(dir, listed));
  return problems;
}

function sealEntries(store: ArchiveStore): Map<string, { seq: number; meta: string; signature: string }> {
  const entries = store.db.prepare("SELECT seq, meta, signature FROM records WHERE kind = 'seal' ORDER BY seq").all() as { seq: number; meta: string; signature: string }[];
  const byDay = new Map<string, { seq: number; meta: string; signature: string }>();
  for (const e of entries) {
    try {
      byDay.set((JSON.parse(e.meta) as SealMeta).day, e);
    } catch {
      // An unreadable seal entry is the chain verifier's finding; here the day just has no entry.
    }
  }
  return byDay;
}

/** The segments table is not chained: the signed seal entry in the chain is what vouches for it. */
function checkSealEntry(row: SegmentRow, entry: { seq: number; meta: string; signature: string } | undefined, publicKey: KeyObject): VerifyProblem[] {
  if (!entry) return [{ kind: 'segment', message: `segment ${row.day}: no seal entry in the chain` }];
  if (entry.meta !== sealMetaText(row)) return [{ kind: 'segment', seq: entry.seq, message: `segment ${row.day}: the segments table differs from its seal entry` }];
  if (!verifySignature(publicKey, entry.meta, entry.signature)) return [{ kind: 'signature', seq: entry.seq, message: `segment ${row.day}: bad signature on its seal entry` }];
  return [];
}

function checkSegment(store: ArchiveStore, publicKey: KeyObject, dir: string, row: SegmentRow): VerifyProblem[] {
  const file = path.join(dir, row.file);
  const problems: VerifyProblem[] = [];
  const problem = (message: string, seq?: number, kind = 'segment') => problems.push({ kind, ...(seq === undefined ? {} : { seq }), message: `segment ${row.day}: ${message}` });
  if (!fs.existsSync(file)) {
    problem(`file ${row.file} is missing`);
    return problems;
  }
  if (sha256File(file) !== row.sha256) problem(`file ${row.file} was changed (SHA-256 differs)`);
  const sig = readSignatureFile(path.join(dir, signatureFileName(row.day)));
  if (!sig) problem(`signature file ${signatureFileName(row.day)} is missing or unreadable`);
  else if (sealMetaText(sig) !== sealMetaText(row)) problem(`signature file ${signatureFileName(row.day)} describes another segment`);
  else if (!verifySignature(publicKey, sealMetaText(sig), sig.signature)) problem(`bad signature in ${signatureFileName(row.day)}`, undefined, 'signature');
  let records: ArchiveRecord[];
  try {
    records = readSegmentRecords(file);
  } catch (err) {
    problem(`file ${row.file} cannot be read: ${(err as Error).message}`);
    return problems;
  }
  checkFileChain(records, row, problem);
  checkAgainstDatabase(store, records, row, problem);
  return problems;
}

type Report = (message: string, seq?: number) => void;

/** Each record's hash recomputed; consecutive records linked; the file's extent as the table says. */
function checkFileChain(records: ArchiveRecord[], row: SegmentRow, problem: Report): void {
  let prev: ArchiveRecord | undefined;
  for (const r of records) {
    if (r.day !== row.day) problem(`record of another day (${r.day}) in the file`, r.seq);
    if (recordHash(r) !== r.hash) problem('record in the file does not match its hash', r.seq);
    if (prev && r.seq <= prev.seq) problem('records in the file are out of order', r.seq);
    else if (prev && r.seq === prev.seq + 1 && r.prev_hash !== prev.hash) problem('record in the file does not link to the one before it', r.seq);
    prev = r;
  }
  if (records.length !== row.count || records[0]?.seq !== row.first_seq || prev?.seq !== row.last_seq) {
    problem(`file holds ${records.length} records (${records[0]?.seq}..${prev?.seq}), the table says ${row.count} (${row.first_seq}..${row.last_seq})`);
  }
}

const COMPARED = [...HASHED_FIELDS, 'prev_hash', 'hash'] as const;

/** Records still in the database equal their sealed copy, and none of the day was added after sealing. */
function checkAgainstDatabase(store: ArchiveStore, records: ArchiveRecord[], row: SegmentRow, problem: Report): void {
  const inFile = new Set<number>();
  for (const sealed of records) {
    inFile.add(sealed.seq);
    const current = store.bySeq(sealed.seq);
    if (!current) continue;
    const changed = COMPARED.filter((f) => current[f] !== sealed[f]);
    if (changed.length > 0) problem(`record differs from its sealed copy (${changed.join(', ')})`, sealed.seq);
  }
  for (const { seq } of store.db.prepare('SELECT seq FROM records WHERE day = ? ORDER BY seq').iterate(row.day) as IterableIterator<{ seq: number }>) {
    if (!inFile.has(seq)) problem('record of a sealed day is not in its segment (added after sealing)', seq);
  }
}

function unlistedFiles(dir: string, listed: Set<string>): VerifyProblem[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).sort().flatMap((name): VerifyProblem[] => {
    const m = SEGMENT_FILE.exec(name);
    return m && !listed.has(m[1]!) ? [{ kind: 'segment', message: `${name} is not a sealed segment (not in the segments table)` }] : [];
  });
}
