import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { ArchiveStore, rowHead, type ChainHead, type EntryRows } from './store.js';
import { openArchiveConnection } from './threads.js';

/**
 * The archive's writer thread: it owns the write connection, so the fsync of each batch and any
 * wait for a lock held by another process happen here, never on the server's event loop.
 */
export interface WriterInit { file: string; busyTimeoutMs: number; maxPageCount: number | null }
/** One batch of entries (store.ts: pushEntry), or the request to close. */
export type WriterRequest = ({ batch: number } & EntryRows) | { close: true };
/** Per batch: the chain's head after its last entry (its entries are the seqs just before), or why it failed. */
export type WriterReply =
  | { batch: number; ok: true; head: ChainHead }
  | { batch: number; ok: false; error: string; code: string };

const init = workerData as WriterInit;
const port = parentPort!;
const db = openArchiveConnection(init.file, init.busyTimeoutMs);
// Index pages are rewritten by nearly every batch: a bigger cache and rarer WAL checkpoints let
// one checkpoint carry many versions of a page to the database file once.
db.pragma('cache_size = -65536');
db.pragma('wal_autocheckpoint = 16384');
if (init.maxPageCount !== null) db.pragma(`max_page_count = ${init.maxPageCount}`);
const store = new ArchiveStore(db);

/** How long after a commit the derived tables are brought up to date (many commits in one go). */
const INDEX_DELAY_MS = 250;
/**
 * Records indexed per transaction. Appends that arrive meanwhile wait for one chunk at most
 * (a few milliseconds), not for the whole backlog.
 */
const INDEX_CHUNK = 500;
let indexTimer: NodeJS.Timeout | null = null;
let closing = false;

function indexSoon(): void {
  if (indexTimer || closing) return;
  indexTimer = setTimeout(indexChunk, INDEX_DELAY_MS);
}

function indexChunk(): void {
  indexTimer = null;
  if (closing) return;
  let more = false;
  try {
    more = store.indexSome(INDEX_CHUNK) === INDEX_CHUNK;
  } catch {
    // Locked or full: the records are safe; the next commit (or a reader) tries again.
  }
  // The next chunk after the appends that came in meanwhile (message events run before immediates).
  if (more) setImmediate(() => { if (!indexTimer) indexChunk(); });
}

/**
 * Write every batch that is waiting, in one transaction: while one commit is being fsync'd the
 * server keeps sending batches, and they are taken together (group commit across batches). One
 * reply per batch, in order. A failed transaction fails all of them (nothing of them was written).
 */
function write(first: WriterRequest): void {
  const batches: ({ batch: number } & EntryRows)[] = [];
  let close = false;
  for (let req: WriterRequest | undefined = first; req; req = (receiveMessageOnPort(port)?.message as WriterRequest | undefined)) {
    if ('close' in req) { close = true; break; }
    batches.push(req);
  }
  if (batches.length > 0) {
    let replies: WriterReply[];
    try {
      const all = batches.length === 1 ? batches[0]! : { rows: batches.flatMap((b) => b.rows), views: batches.flatMap((b) => b.views) };
      store.appendRows(all);
      replies = batches.map((b) => ({ batch: b.batch, ok: true, head: rowHead(b.rows.at(-1)!) }));
      indexSoon();
    } catch (err) {
      const e = err as Error & { code?: string };
      replies = batches.map((b) => ({ batch: b.batch, ok: false, error: e.message, code: e.code ?? 'ERROR' }));
    }
    for (const reply of replies) port.postMessage(reply);
  }
  if (close) shutdown();
}

function shutdown(): void {
  closing = true;
  if (indexTimer) clearTimeout(indexTimer);
  try { store.indexPending(); } catch { /* readers index what is left */ }
  // A clean close checkpoints the WAL into the database file, so the file alone is complete.
  db.close();
  port.close();
}

port.on('message', (req: WriterRequest) => {
  if ('close' in req) shutdown();
  else write(req);
});
port.postMessage({ ready: true });
