import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { attachIndex } from './derived.js';
import { ArchiveStore } from './store.js';
import { openArchiveConnection } from './threads.js';

/**
 * The archive's indexer thread: it fills the index file (participants with the users' MAM views,
 * full text; derived.ts) from the records, in large transactions, on a connection of its own.
 * Its transactions write only the index file, so the writer thread's appends (which messages
 * wait for) never wait for it, and each index page is written once for thousands of records.
 */
export interface IndexerInit { file: string; busyTimeoutMs: number }
/** Index everything written so far and answer (a reader is about to query), or close. */
export type IndexerRequest = { catchUp: number } | { close: true };
export type IndexerReply =
  | { catchUp: number; ok: true; upto: number }
  | { catchUp: number; ok: false; error: string };

/** How often the thread looks for new records when it is idle. */
const POLL_MS = 100;
/** Records that make a pass worth it at once; fewer wait up to MAX_DELAY_MS for more. */
const MIN_PENDING = 10_000;
const MAX_DELAY_MS = 1_000;
/** Records per index transaction. */
const CHUNK = 50_000;

/**
 * Nice 10 for this thread only (Linux keeps a nice value per thread, and os.setPriority(0) sets
 * the calling one's): on a busy machine the event loop and the writer, which messages wait for,
 * go first, and the indexer takes the CPU they leave. Elsewhere it may set the whole process's,
 * so only on Linux.
 */
const INDEXER_NICE = 10;
if (process.platform === 'linux') {
  try { os.setPriority(INDEXER_NICE); } catch { /* not allowed here: run at the normal priority */ }
}

const init = workerData as IndexerInit;
const port = parentPort!;
const db = openArchiveConnection(init.file, init.busyTimeoutMs);
attachIndex(db, init.file, 'NORMAL');
db.pragma('ix.cache_size = -65536');
db.pragma('wal_autocheckpoint = 16384');
const store = new ArchiveStore(db);

let timer: NodeJS.Timeout | null = null;
let pendingSince = 0;
let closing = false;

/** Index when enough records have come in, or when the oldest has waited long enough. */
function tick(): void {
  timer = null;
  if (closing) return;
  let more = false;
  try {
    const pending = store.head().seq - store.indexedUpto();
    const now = Date.now();
    if (pending <= 0) pendingSince = 0;
    else if (pendingSince === 0) pendingSince = now;
    if (pending >= MIN_PENDING || (pending > 0 && now - pendingSince >= MAX_DELAY_MS)) {
      more = store.indexSome(CHUNK) === CHUNK;
      if (!more) pendingSince = 0;
    }
  } catch {
    // Locked or full: the records are safe and stay pending; the next tick tries again.
  }
  // Between chunks, requests (catch-up, close) get their turn.
  if (more) setImmediate(tick);
  else timer = setTimeout(tick, POLL_MS);
}

port.on('message', (req: IndexerRequest) => {
  if ('close' in req) {
    closing = true;
    if (timer) clearTimeout(timer);
    // What the writer wrote last is indexed now, not at the next start.
    try { store.indexPending(CHUNK); } catch { /* the next start (or a reader) indexes it */ }
    db.close();
    port.close();
    return;
  }
  let reply: IndexerReply;
  try {
    store.indexPending(CHUNK);
    pendingSince = 0;
    reply = { catchUp: req.catchUp, ok: true, upto: store.indexedUpto() };
  } catch (err) {
    reply = { catchUp: req.catchUp, ok: false, error: (err as Error).message };
  }
  port.postMessage(reply);
});
timer = setTimeout(tick, POLL_MS);
port.postMessage({ ready: true });
