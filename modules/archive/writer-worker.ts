import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { ArchiveStore, rowHead, type ChainHead, type EntryRows } from './store.js';
import { openArchiveConnection } from './threads.js';

/**
 * The archive's writer thread: it owns the write connection, so the fsync of each batch and any
 * wait for a lock held by another process happen here, never on the server's event loop.
 */
export interface WriterInit { file: string; busyTimeoutMs: number; maxPageCount: number | null }
/** What the thread is started with: the settings, and the port its answers go to (writer.ts polls it). */
export interface WriterData extends WriterInit { replies: MessagePort }
/** One batch of entries (store.ts: pushEntry), or the request to close. */
export type WriterRequest = ({ batch: number } & EntryRows) | { close: true };
/** Per batch: the chain's head after its last entry (its entries are the seqs just before), or why it failed. */
export type WriterReply =
  | { batch: number; ok: true; head: ChainHead }
  | { batch: number; ok: false; error: string; code: string };

const init = workerData as WriterData;
const port = parentPort!;
const replies = init.replies;
const db = openArchiveConnection(init.file, init.busyTimeoutMs);
// The writer only appends records (the indexer thread fills the index file: derived.ts): a
// bigger cache and rarer WAL checkpoints still let one checkpoint carry many commits' versions of
// the last pages of the records and their id and day indexes.
db.pragma('cache_size = -65536');
db.pragma('wal_autocheckpoint = 16384');
if (init.maxPageCount !== null) db.pragma(`max_page_count = ${init.maxPageCount}`);
const store = new ArchiveStore(db);

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
    let answers: WriterReply[];
    try {
      const all = batches.length === 1 ? batches[0]! : { rows: batches.flatMap((b) => b.rows), seenBy: batches.flatMap((b) => b.seenBy) };
      store.appendRows(all);
      answers = batches.map((b) => ({ batch: b.batch, ok: true, head: rowHead(b.rows.at(-1)!) }));
    } catch (err) {
      const e = err as Error & { code?: string };
      answers = batches.map((b) => ({ batch: b.batch, ok: false, error: e.message, code: e.code ?? 'ERROR' }));
    }
    for (const answer of answers) replies.postMessage(answer);
  }
  if (close) shutdown();
}

function shutdown(): void {
  // A clean close checkpoints the WAL into the database file, so the file alone is complete.
  db.close();
  replies.close();
  port.close();
}

port.on('message', (req: WriterRequest) => {
  if ('close' in req) shutdown();
  else write(req);
});
port.postMessage({ ready: true });
