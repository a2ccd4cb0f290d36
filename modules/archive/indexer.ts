import { Worker } from 'node:worker_threads';
import { closeWorker } from './threads.js';
import type { IndexerInit, IndexerReply, IndexerRequest } from './indexer-worker.js';

/** The index could not be brought up to date (locked past the busy timeout, disk full, thread gone). */
export class ArchiveIndexError extends Error {
  override name = 'ArchiveIndexError';
}

/**
 * The main-thread side of the indexer thread (indexer-worker.ts): it indexes by itself as records
 * come in; a reader calls catchUp() before it queries, so that a query never misses a record
 * that was written, without indexing on the event loop.
 */
export class ArchiveIndexer {
  private worker: Worker | null = null;
  private next = 0;
  private readonly waiting = new Map<number, { resolve(): void; reject(e: Error): void }>();

  constructor(private readonly init: IndexerInit) {}

  /** Start the thread (it prepares the index file) and wait until it is ready. */
  start(): Promise<void> {
    const worker = new Worker(new URL('./indexer-worker.js', import.meta.url), { workerData: this.init });
    this.worker = worker;
    const ready = new Promise<void>((resolve, reject) => {
      const onFirst = (m: unknown) => {
        if (m && typeof m === 'object' && 'ready' in m) { worker.off('error', reject); resolve(); }
      };
      worker.once('message', onFirst);
      worker.once('error', reject);
    });
    worker.on('message', (r: IndexerReply | { ready: true }) => {
      if (!('catchUp' in r)) return;
      const w = this.waiting.get(r.catchUp);
      if (!w) return;
      this.waiting.delete(r.catchUp);
      if (r.ok) w.resolve(); else w.reject(new ArchiveIndexError(`the archive index could not be brought up to date: ${r.error}`));
    });
    const fail = (reason: string) => {
      if (this.worker === worker) this.worker = null;
      for (const w of this.waiting.values()) w.reject(new ArchiveIndexError(reason));
      this.waiting.clear();
    };
    worker.on('error', (err) => fail(`archive indexer failed: ${err.message}`));
    worker.on('exit', (code) => fail(`archive indexer stopped (exit ${code})`));
    return ready;
  }

  /** Resolves once every record written before the call is in the index. */
  catchUp(): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new ArchiveIndexError('the archive indexer is not running'));
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ catchUp: id } satisfies IndexerRequest);
    });
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await closeWorker(w);
  }
}
