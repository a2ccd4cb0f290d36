import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openArchiveDb, archiveMessage } from '../../test/kit/archive.js';
import { ArchiveStore, type PendingEntry } from './store.js';
import { ArchiveWriter } from './writer.js';

function entry(i: number): PendingEntry {
  const record = archiveMessage({ from: 'alice@localhost/desk', to: 'bob@localhost', body: `message ${i}`, ts: Date.now() });
  return { record, views: [{ owner: 'alice@localhost', with_jid: 'bob@localhost' }] };
}

/** Block this thread (not the writer's) for `ms`, so the thread's answer waits on the port unread. */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

test('the writer thread writes each batch in the chain and resolves its entries once durable', async (t) => {
  const { db, file } = openArchiveDb();
  t.after(() => db.close());
  const writer = new ArchiveWriter({ file, busyTimeoutMs: 1000, maxPageCount: null }, new ArchiveStore(db).head());
  await writer.start();
  t.after(() => writer.stop());
  // More than one early batch (64), in one event-loop turn.
  await Promise.all(Array.from({ length: 150 }, (_, i) => writer.append(entry(i))));
  const rows = db.prepare("SELECT seq, body FROM records WHERE kind = 'message' ORDER BY seq").all() as { seq: number; body: string }[];
  assert.deepEqual(rows.map((r) => r.body), Array.from({ length: 150 }, (_, i) => `message ${i}`));
  assert.deepEqual(rows.map((r) => r.seq), Array.from({ length: 150 }, (_, i) => i + 1));
  assert.equal(writer.head.seq, 150);
});

test('an entry appended while stop() waits is written before the thread closes, even when its append settles the wait', async (t) => {
  const { db, file } = openArchiveDb();
  t.after(() => db.close());
  const writer = new ArchiveWriter({ file, busyTimeoutMs: 1000, maxPageCount: null }, new ArchiveStore(db).head());
  await writer.start();
  const first = writer.append(entry(1));
  // Let the batch go to the thread, then hold this thread while it is written and answered.
  await new Promise((resolve) => setImmediate(resolve));
  blockFor(300);
  const stopping = writer.stop(); // waits for the first entry
  // This append takes the waiting answer itself, which settles the stop's wait with the second
  // entry still queued: stop must not close the thread under it.
  const second = writer.append(entry(2));
  await first;
  await second;
  await stopping;
  assert.equal(db.prepare("SELECT COUNT(*) FROM records WHERE kind = 'message'").pluck().get(), 2);
  await assert.rejects(writer.append(entry(3)), /stopping/);
});

test('a failed batch is reported once with its size, and refuses its entries unless the writer fails open', async (t) => {
  for (const failOpen of [false, true]) {
    const { db, file } = openArchiveDb();
    t.after(() => db.close());
    const failures: { code: string; entries: number }[] = [];
    const writer = new ArchiveWriter({ file, busyTimeoutMs: 50, maxPageCount: null }, new ArchiveStore(db).head(),
      { failOpen, onFailure: (err, entries) => failures.push({ code: err.code, entries }) });
    await writer.start();
    t.after(() => writer.stop());
    // Another connection holds the write lock past the busy timeout: the thread's transaction fails.
    db.exec('BEGIN IMMEDIATE');
    const appended = Promise.all([writer.append(entry(1)), writer.append(entry(2)), writer.append(entry(3))]);
    if (failOpen) await appended;
    else await assert.rejects(appended, (err: Error & { code?: string }) => err.code === 'SQLITE_BUSY');
    db.exec('ROLLBACK');
    assert.deepEqual(failures, [{ code: 'SQLITE_BUSY', entries: 3 }], `failOpen=${failOpen}`);
    assert.equal(db.prepare("SELECT COUNT(*) FROM records WHERE kind = 'message'").pluck().get(), 0);
    // Once the lock is gone the next entries are written.
    await writer.append(entry(4));
    assert.equal(db.prepare("SELECT COUNT(*) FROM records WHERE kind = 'message'").pluck().get(), 1);
  }
});
