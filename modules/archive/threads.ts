import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';

/**
 * What the archive's threads (the writer, the indexer and the housekeeper) share: how they open their own
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

/** Resolves when a worker posts its first message, `{ ready: true }` (its connection is open). */
export function whenReady(worker: Worker): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    worker.once('message', (m: unknown) => {
      if (m && typeof m === 'object' && 'ready' in m) { worker.off('error', reject); resolve(); }
    });
    worker.once('error', reject);
  });
}

/** Call `gone` with the reason once a worker fails or exits. */
export function onWorkerGone(worker: Worker, name: string, gone: (reason: string) => void): void {
  worker.on('error', (err) => gone(`${name} failed: ${err.message}`));
  worker.on('exit', (code) => gone(`${name} stopped (exit ${code})`));
}

/**
 * Requests to a worker thread that are answered by number: each call's promise is settled by the
 * reply with its number, and all of them fail if the thread goes.
 */
export class NumberedCalls<T> {
  private next = 0;
  private readonly waiting = new Map<number, { resolve(v: T): void; reject(e: Error): void }>();

  /** A new request number and the promise its reply settles. */
  open(): { id: number; reply: Promise<T> } {
    const id = ++this.next;
    const reply = new Promise<T>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    return { id, reply };
  }

  settle(id: number, outcome: { ok: true; value: T } | { ok: false; error: Error }): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    if (outcome.ok) w.resolve(outcome.value); else w.reject(outcome.error);
  }

  failAll(error: Error): void {
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }
}
