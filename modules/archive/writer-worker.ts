import { parentPort, workerData } from 'node:worker_threads';
import { ArchiveStore, type PendingEntry } from './store.js';
import { openArchiveConnection } from './threads.js';

/**
 * The archive's writer thread: it owns the write connection, so the fsync of each batch and any
 * wait for a lock held by another process happen here, never on the server's event loop.
 */
export interface WriterInit { file: string; busyTimeoutMs: number; maxPageCount: number | null }
export type WriterRequest = { batch: number; entries: PendingEntry[] } | { close: true };
export type WriterReply =
  | { batch: number; ok: true; written: { seq: number; hash: string }[] }
  | { batch: number; ok: false; error: string; code: string };

const init = workerData as WriterInit;
const db = openArchiveConnection(init.file, init.busyTimeoutMs);
// Index pages are rewritten by nearly every batch: a bigger cache and rarer WAL checkpoints let
// one checkpoint carry many versions of a page to the database file once.
db.pragma('cache_size = -65536');
db.pragma('wal_autocheckpoint = 16384');
if (init.maxPageCount !== null) db.pragma(`max_page_count = ${init.maxPageCount}`);
const store = new ArchiveStore(db);

/** How long after a commit the derived tables are brought up to date (many commits in one go). */
const INDEX_DELAY_MS = 250;
let indexTimer: NodeJS.Timeout | null = null;
function indexSoon(): void {
  if (indexTimer) return;
  indexTimer = setTimeout(() => {
    indexTimer = null;
    try {
      store.indexPending();
    } catch {
      // Locked or full: the records are safe; the next commit (or a reader) tries again.
    }
  }, INDEX_DELAY_MS);
}

parentPort!.on('message', (req: WriterRequest) => {
  if ('close' in req) {
    if (indexTimer) clearTimeout(indexTimer);
    try { store.indexPending(); } catch { /* readers index what is left */ }
    // A clean close checkpoints the WAL into the database file, so the file alone is complete.
    db.close();
    parentPort!.close();
    return;
  }
  let reply: WriterReply;
  try {
    const written = store.append(req.entries).map((r) => ({ seq: r.seq, hash: r.hash }));
    reply = { batch: req.batch, ok: true, written };
    indexSoon();
  } catch (err) {
    const e = err as Error & { code?: string };
    reply = { batch: req.batch, ok: false, error: e.message, code: e.code ?? 'ERROR' };
  }
  parentPort!.postMessage(reply);
});
parentPort!.postMessage({ ready: true });
