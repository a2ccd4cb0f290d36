import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';

/**
 * What the archive's two threads (the writer and the housekeeper) share: how they open their own
 * connection to the archive file, and how the main thread lets them finish.
 */

/** A connection of a worker thread: WAL, fsync at every commit, and a bounded wait for locks. */
export function openArchiveConnection(file: string, busyTimeoutMs: number): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  return db;
}

/** Ask a worker to close its connection (which checkpoints the WAL) and wait until it has exited. */
export async function closeWorker(worker: Worker): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage({ close: true });
  await exited;
}
