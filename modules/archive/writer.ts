import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { pushEntry, type ChainHead, type EntryRows, type PendingEntry } from './store.js';
import { closeWorker, onWorkerGone, whenReady } from './threads.js';
import type { WriterData, WriterInit, WriterReply, WriterRequest } from './writer-worker.js';

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

/**
 * Entries of one batch: the rows for the thread, and the one promise all its messages wait on (a
 * promise and two closures per message, alive until the commit, were a good part of the
 * garbage collector's work on a loaded server).
 */
interface Batch { data: EntryRows; count: number; done: Promise<void>; resolve(): void; reject(err: Error): void }

/** Why a record could not be written (disk full, database locked, writer gone). */
export class ArchiveWriteError extends Error {
  constructor(message: string, readonly code: string) { super(message); }
}

export interface WriterOptions {
  /** Let messages through when their record could not be written (the archive's fail_open). */
  failOpen?: boolean;
  /** Told once per failed batch, with how many entries it held, before they are refused (or let through). */
  onFailure?(err: ArchiveWriteError, entries: number): void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const done = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  return { data: { rows: [], seenBy: [] }, count: 0, done, resolve, reject };
}

export class ArchiveWriter {
  private worker: Worker | null = null;
  /** Where the thread's answers arrive: read by a listener and, between messages, by polling (see append). */
  private replies: MessagePort | null = null;
  private ready: Promise<void> | null = null;
  /** Batches being filled in this event-loop turn. */
  private queue: Batch[] = [];
  private queued = 0;
  /** Batches sent to the thread and not yet answered, by batch number (answers come in order). */
  private inFlight = new Map<number, Batch>();
  private inFlightCount = 0;
  private batchNo = 0;
  private scheduled = false;
  private stopped = false;
  private idle: (() => void)[] = [];
  /** The last entry known to be written. */
  head: ChainHead;

  constructor(private readonly init: WriterInit, initialHead: ChainHead, private readonly options: WriterOptions = {}) {
    this.head = initialHead;
  }

  /** Start the writer thread and wait until it has opened the database. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    const { port1, port2 } = new MessageChannel();
    const data: WriterData = { ...this.init, replies: port2 };
    const worker = new Worker(new URL('./writer-worker.js', import.meta.url), { workerData: data, transferList: [port2] });
    this.worker = worker;
    this.replies = port1;
    this.ready = whenReady(worker);
    port1.on('message', (m: WriterReply) => this.onReply(m));
    onWorkerGone(worker, 'archive writer', (reason) => {
      if (this.worker === worker) {
        this.takeReplies(); // what it answered before it went
        this.onWorkerGone(reason);
      }
      port1.close();
    });
    return this.ready;
  }

  /**
   * Queue an entry; resolves once it is durable. The promise is shared by the entries of a batch
   * (they are written, or fail, together).
   */
  append(entry: PendingEntry): Promise<void> {
    if (this.stopped) return this.failed(new ArchiveWriteError('the archive is stopping', 'STOPPED'), 1);
    // Answers that came in while this event-loop turn was busy: a loaded turn reads hundreds of
    // messages from many connections and lasts milliseconds, and an answer left to the listener
    // waits for the next turn with every message of its batch behind it. Taken here, those
    // messages go out in this turn (measured: 8-10 ms less from commit to delivery under load).
    if (this.inFlightCount > 0) this.takeReplies();
    let batch = this.queue.at(-1);
    if (!batch || batch.count >= MAX_BATCH) {
      batch = newBatch();
      this.queue.push(batch);
    }
    pushEntry(batch.data, entry);
    batch.count++;
    this.queued++;
    const done = batch.done;
    if (batch.count >= EARLY_BATCH && this.inFlight.size < MAX_BATCHES_SENT) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      // Let the rest of this event-loop turn add its entries to the same batch.
      setImmediate(() => { this.scheduled = false; this.flush(); });
    }
    return done;
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
    // An entry can be queued between the drain settling and this continuation (append takes the
    // thread's answers itself, and the last answer settles the drain): wait for those too.
    do await this.drain(); while (this.pending > 0);
    this.stopped = true;
    const w = this.worker;
    this.worker = null;
    if (w) await closeWorker(w);
  }

  private flush(): void {
    if (this.queue.length === 0) { this.notifyIdle(); return; }
    if (this.inFlight.size >= MAX_BATCHES_SENT) return;
    const batches = this.queue;
    this.queue = [];
    this.queued = 0;
    if (this.stopped) {
      for (const batch of batches) this.fail(batch, new ArchiveWriteError('the archive is stopping', 'STOPPED'));
      return;
    }
    if (!this.worker) this.start().catch(() => undefined);
    for (const batch of batches) {
      const req: WriterRequest = { batch: ++this.batchNo, ...batch.data };
      batch.data = { rows: [], seenBy: [] }; // the rows are the thread's now
      this.inFlight.set(req.batch, batch);
      this.inFlightCount += batch.count;
      this.worker!.postMessage(req);
    }
  }

  /** Handle the answers already waiting on the port, without waiting for the event loop. */
  private takeReplies(): void {
    const port = this.replies;
    if (!port) return;
    for (let m = receiveMessageOnPort(port); m; m = port === this.replies ? receiveMessageOnPort(port) : undefined) {
      this.onReply(m.message as WriterReply);
    }
  }

  /** Settle a batch that could not be written: refused, or let through when fail-open. */
  private fail(batch: Batch, err: ArchiveWriteError): void {
    this.options.onFailure?.(err, batch.count);
    if (this.options.failOpen) batch.resolve(); else batch.reject(err);
  }

  /** The promise of an entry refused before it was queued. */
  private failed(err: ArchiveWriteError, entries: number): Promise<void> {
    this.options.onFailure?.(err, entries);
    return this.options.failOpen ? Promise.resolve() : Promise.reject(err);
  }

  private onReply(reply: WriterReply): void {
    const batch = this.inFlight.get(reply.batch);
    if (!batch) return;
    this.inFlight.delete(reply.batch);
    this.inFlightCount -= batch.count;
    if (reply.ok) {
      this.head = reply.head;
      batch.resolve();
    } else {
      this.fail(batch, new ArchiveWriteError(reply.error, reply.code));
    }
    this.flush();
  }

  private onWorkerGone(reason: string): void {
    this.worker = null;
    this.replies = null;
    this.ready = null;
    const err = new ArchiveWriteError(reason, 'WRITER_GONE');
    const lost = [...this.inFlight.values()];
    this.inFlight.clear();
    this.inFlightCount = 0;
    for (const batch of lost) this.fail(batch, err);
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
