import { Worker } from 'node:worker_threads';
import { pushEntry, type ChainHead, type EntryRows, type PendingEntry } from './store.js';
import { closeWorker, onWorkerGone, whenReady } from './threads.js';
import type { WriterInit, WriterReply, WriterRequest } from './writer-worker.js';

/** Most entries in one batch sent to the writer thread. */
const MAX_BATCH = 2000;
/**
 * A batch this big goes to the thread at once instead of at the end of the event-loop turn: on a
 * busy server a turn lasts milliseconds, and the thread can start on the first entries (or take
 * them into the transaction it starts next) while this side reads the rest.
 */
const EARLY_BATCH = 64;
/**
 * Batches sent and not yet answered, at most. The thread takes every waiting batch into its next
 * transaction, so batches sent while it writes become one transaction; what arrives beyond this
 * goes when a batch is answered.
 */
const MAX_BATCHES_SENT = 8;

interface Waiting { resolve(seq: number): void; reject(err: Error): void }

/** Entries of one batch: the rows for the thread and who waits for each. */
interface Batch { data: EntryRows; waiting: Waiting[] }

/** Why a record could not be written (disk full, database locked, writer gone). */
export class ArchiveWriteError extends Error {
  constructor(message: string, readonly code: string) { super(message); }
}

/**
 * Group commit: the entries of one event-loop turn go to the writer thread as one batch, at once
 * unless two batches are already with it (then they go together when the first is answered); the
 * thread takes every batch that is waiting into its next transaction, so under load each fsync
 * carries many records and the thread never waits for this side, and a lone message still goes
 * out at once. A promise resolves only when its record is durable; a failed transaction rejects
 * all its entries.
 */
export class ArchiveWriter {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  /** Batches being filled in this event-loop turn. */
  private queue: Batch[] = [];
  private queued = 0;
  /** Batches sent to the thread and not yet answered, by batch number (answers come in order). */
  private inFlight = new Map<number, Waiting[]>();
  private inFlightCount = 0;
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
    this.ready = whenReady(worker);
    worker.on('message', (m: WriterReply | { ready: true }) => { if ('batch' in m) this.onReply(m); });
    onWorkerGone(worker, 'archive writer', (reason) => { if (this.worker === worker) this.onWorkerGone(reason); });
    return this.ready;
  }

  /** Queue an entry; resolves with its position in the chain once it is durable. */
  append(entry: PendingEntry): Promise<number> {
    if (this.stopped) return Promise.reject(new ArchiveWriteError('the archive is stopping', 'STOPPED'));
    return new Promise<number>((resolve, reject) => {
      let batch = this.queue.at(-1);
      if (!batch || batch.waiting.length >= MAX_BATCH) {
        batch = { data: { rows: [], seenBy: [] }, waiting: [] };
        this.queue.push(batch);
      }
      pushEntry(batch.data, entry);
      batch.waiting.push({ resolve, reject });
      this.queued++;
      if (batch.waiting.length >= EARLY_BATCH && this.inFlight.size < MAX_BATCHES_SENT) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        // Let the rest of this event-loop turn add its entries to the same batch.
        setImmediate(() => { this.scheduled = false; this.flush(); });
      }
    });
  }

  /** Entries queued or being written. */
  get pending(): number {
    return this.queued + this.inFlightCount;
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
    if (this.queue.length === 0) { this.notifyIdle(); return; }
    if (this.inFlight.size >= MAX_BATCHES_SENT) return;
    if (!this.worker) this.start().catch(() => undefined);
    const batches = this.queue;
    this.queue = [];
    this.queued = 0;
    for (const { data, waiting } of batches) {
      const req: WriterRequest = { batch: ++this.batchNo, ...data };
      this.inFlight.set(req.batch, waiting);
      this.inFlightCount += waiting.length;
      this.worker!.postMessage(req);
    }
  }

  private onReply(reply: WriterReply): void {
    const waiting = this.inFlight.get(reply.batch);
    if (!waiting) return;
    this.inFlight.delete(reply.batch);
    this.inFlightCount -= waiting.length;
    if (reply.ok) {
      const first = reply.head.seq - waiting.length + 1;
      waiting.forEach((w, i) => w.resolve(first + i));
      this.head = reply.head;
    } else {
      const err = new ArchiveWriteError(reply.error, reply.code);
      for (const w of waiting) w.reject(err);
    }
    this.flush();
  }

  private onWorkerGone(reason: string): void {
    this.worker = null;
    this.ready = null;
    const err = new ArchiveWriteError(reason, 'WRITER_GONE');
    const lost = [...this.inFlight.values()];
    this.inFlight.clear();
    this.inFlightCount = 0;
    for (const waiting of lost) for (const w of waiting) w.reject(err);
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
