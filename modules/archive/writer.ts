import { Worker } from 'node:worker_threads';
import type { PendingEntry, ChainHead } from './store.js';
import { closeWorker } from './threads.js';
import type { WriterInit, WriterReply, WriterRequest } from './writer-worker.js';

/** Most entries written in one transaction. */
const MAX_BATCH = 2000;

interface Waiting { entry: PendingEntry; resolve(head: ChainHead): void; reject(err: Error): void }

/** Why a record could not be written (disk full, database locked, writer gone). */
export class ArchiveWriteError extends Error {
  constructor(message: string, readonly code: string) { super(message); }
}

/**
 * Group commit: entries that arrive while a batch is being written wait for the next one, so
 * under load each fsync carries many records, and a lone message still goes out at once. A
 * promise resolves only when its record is durable; a failed batch rejects all its entries.
 */
export class ArchiveWriter {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private queue: Waiting[] = [];
  private inFlight: Waiting[] | null = null;
  private batchNo = 0;
  private scheduled = false;
  private stopped = false;
  private idle: (() => void)[] = [];
  /** The last entry known to be written. */
  head: ChainHead;

  constructor(private readonly init: WriterInit, initialHead: ChainHead) {
    this.head = initialHead;
  }

  /** Start the writer thread and wait until it has opened the database. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    const worker = new Worker(new URL('./writer-worker.js', import.meta.url), { workerData: this.init });
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      const onFirst = (m: unknown) => {
        if (m && typeof m === 'object' && 'ready' in m) { worker.off('error', reject); resolve(); }
      };
      worker.once('message', onFirst);
      worker.once('error', reject);
    });
    worker.on('message', (m: WriterReply | { ready: true }) => { if ('batch' in m) this.onReply(m); });
    worker.on('error', (err) => this.onWorkerGone(`archive writer failed: ${err.message}`));
    worker.on('exit', (code) => { if (this.worker === worker) this.onWorkerGone(`archive writer stopped (exit ${code})`); });
    return this.ready;
  }

  /** Queue an entry; resolves with its chain position once it is durable. */
  append(entry: PendingEntry): Promise<ChainHead> {
    if (this.stopped) return Promise.reject(new ArchiveWriteError('the archive is stopping', 'STOPPED'));
    return new Promise<ChainHead>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.inFlight && !this.scheduled) {
        this.scheduled = true;
        // Let the rest of this event-loop turn add its entries to the same batch.
        setImmediate(() => { this.scheduled = false; this.flush(); });
      }
    });
  }

  /** Entries queued or being written. */
  get pending(): number {
    return this.queue.length + (this.inFlight?.length ?? 0);
  }

  /** Resolve when everything queued so far is written (or failed). */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Write what is queued, then stop the thread. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.drain();
    this.stopped = true;
    const w = this.worker;
    this.worker = null;
    if (w) await closeWorker(w);
  }

  private flush(): void {
    if (this.inFlight || this.queue.length === 0) { this.notifyIdle(); return; }
    if (!this.worker) this.start().catch(() => undefined);
    const batch = this.queue.length <= MAX_BATCH ? this.queue : this.queue.slice(0, MAX_BATCH);
    this.queue = this.queue.length <= MAX_BATCH ? [] : this.queue.slice(MAX_BATCH);
    this.inFlight = batch;
    const req: WriterRequest = { batch: ++this.batchNo, entries: batch.map((w) => w.entry) };
    this.worker!.postMessage(req);
  }

  private onReply(reply: WriterReply): void {
    const batch = this.inFlight;
    if (!batch || reply.batch !== this.batchNo) return;
    this.inFlight = null;
    if (reply.ok) {
      reply.written.forEach((h, i) => batch[i]!.resolve(h));
      const last = reply.written.at(-1);
      if (last) this.head = last;
    } else {
      const err = new ArchiveWriteError(reply.error, reply.code);
      for (const w of batch) w.reject(err);
    }
    this.flush();
  }

  private onWorkerGone(reason: string): void {
    this.worker = null;
    this.ready = null;
    const err = new ArchiveWriteError(reason, 'WRITER_GONE');
    const batch = this.inFlight;
    this.inFlight = null;
    if (batch) for (const w of batch) w.reject(err);
    if (!this.stopped && this.queue.length > 0) this.flush();
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.pending > 0) return;
    const waiting = this.idle;
    this.idle = [];
    for (const fn of waiting) fn();
  }
}
