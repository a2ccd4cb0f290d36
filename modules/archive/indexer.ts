import { Worker } from 'node:worker_threads';
import { closeWorker, NumberedCalls, onWorkerGone, whenReady } from './threads.js';
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
  private readonly calls = new NumberedCalls<void>();

  constructor(private readonly init: IndexerInit) {}

  /** Start the thread and wait until it has attached the index file. */
  start(): Promise<void> {
    const worker = new Worker(new URL('./indexer-worker.js', import.meta.url), { workerData: this.init });
    this.worker = worker;
    const ready = whenReady(worker);
    worker.on('message', (r: IndexerReply | { ready: true }) => {
      if (!('catchUp' in r)) return;
      this.calls.settle(r.catchUp, r.ok ? { ok: true, value: undefined }
        : { ok: false, error: new ArchiveIndexError(`the archive index could not be brought up to date: ${r.error}`) });
    });
    onWorkerGone(worker, 'archive indexer', (reason) => {
      if (this.worker === worker) this.worker = null;
      this.calls.failAll(new ArchiveIndexError(reason));
    });
    return ready;
  }

  /** Resolves once every record written before the call is in the index. */
  catchUp(): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new ArchiveIndexError('the archive indexer is not running'));
    const { id, reply } = this.calls.open();
    worker.postMessage({ catchUp: id } satisfies IndexerRequest);
    return reply;
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await closeWorker(w);
  }
}
