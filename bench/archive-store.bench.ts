/**
 * What the archive's threads spend per record, without a server: appends in batches the way the
 * writer thread takes them (WAL, synchronous=FULL, one fsync per batch), then the indexer's pass
 * (participants and full text, in the index file), on real SQLite files in a temporary folder.
 *
 * Run after building: `node dist/bench/archive-store.bench.js [records] [batch] [index chunk]`
 * (defaults 60,000, 300 and 10,000). Prints CPU (user and system) and wall time per record for each
 * phase. Every loop is bounded by the record count; the run takes a few seconds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openArchiveDb, archiveMessage } from '../test/kit/archive.js';
import { openArchiveConnection } from '../modules/archive/threads.js';
import { ArchiveStore, pushEntry, type EntryRows } from '../modules/archive/store.js';
import { timeOrderedId } from '../modules/archive/capture.js';
import { attachIndex } from '../modules/archive/derived.js';

const RECORDS = Number(process.argv[2] ?? 60_000);
const BATCH = Number(process.argv[3] ?? 300);
const INDEX_CHUNK = Number(process.argv[4] ?? 10_000);
const USERS = 400;
const BODY = 'x'.repeat(60) + ' lorem ipsum dolor sit amet consectetur';

function build(n: number, from: number): EntryRows {
  const out: EntryRows = { rows: [], seenBy: [] };
  const now = Date.now();
  for (let i = from; i < from + n; i++) {
    const a = i % USERS;
    const b = a ^ 1;
    const record = archiveMessage({ from: `u${a}@localhost/bench`, to: `u${b}@localhost`, body: `${BODY} ${i}`, ts: now });
    record.id = timeOrderedId(now);
    record.stanza = `<message xmlns='jabber:client' to='u${b}@localhost' type='chat' id='m${i}' from='u${a}@localhost/bench'><body>${record.body}</body></message>`;
    pushEntry(out, { record, views: [{ owner: `u${a}@localhost`, with_jid: `u${b}@localhost` }, { owner: `u${b}@localhost`, with_jid: `u${a}@localhost` }] });
  }
  return out;
}

interface Phase { name: string; user: number; system: number; wall: number }

function measure(name: string, fn: () => void): Phase {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { name, user: c.user / RECORDS, system: c.system / RECORDS, wall: (wall * 1000) / RECORDS };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-archive-bench-'));
try {
  const { file, db: setup } = openArchiveDb(path.join(dir, 'archive.db'));
  setup.close();
  const db = openArchiveConnection(file, 5000);
  db.pragma('cache_size = -65536');
  db.pragma('wal_autocheckpoint = 16384');
  // One connection with the index attached, as the indexer thread has (the writer's has none).
  attachIndex(db, file, 'NORMAL');
  db.pragma('ix.cache_size = -65536');
  const store = new ArchiveStore(db);
  const batches: EntryRows[] = [];
  for (let i = 0; i < RECORDS; i += BATCH) batches.push(build(Math.min(BATCH, RECORDS - i), i));
  const phases = [
    measure(`append (batches of ${BATCH})`, () => { for (const b of batches) store.appendRows(b); }),
    measure(`index (chunks of ${INDEX_CHUNK})`, () => { while (store.indexSome(INDEX_CHUNK) === INDEX_CHUNK); }),
  ];
  db.close();
  const size = fs.statSync(file).size;
  console.log(`${RECORDS} records, ${USERS} users, file ${(size / RECORDS).toFixed(0)} bytes per record`);
  console.log('phase'.padEnd(32), 'user µs', 'sys µs', 'wall µs  (per record)');
  for (const p of phases) console.log(p.name.padEnd(32), p.user.toFixed(1).padStart(7), p.system.toFixed(1).padStart(6), p.wall.toFixed(1).padStart(7));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
