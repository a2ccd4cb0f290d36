import { parentPort, workerData } from 'node:worker_threads';
import { attachIndex } from './derived.js';
import { dueDays, purgeExpired } from './retention.js';
import { sealDays } from './seal.js';
import { loadOrCreateSigner } from './signing.js';
import { ArchiveStore } from './store.js';
import { openArchiveConnection } from './threads.js';

/**
 * Sealing and purging in a thread of their own, on a connection of their own: compressing a day
 * or deleting an expired one never holds up the server's event loop, and a purge goes day by day
 * so the write lock it takes is short and the writer's appends (messages waiting to be
 * delivered) get their turn between days.
 */
export interface HousekeeperInit { file: string; busyTimeoutMs: number; signingKey: string; segmentsDir: string }
export type HousekeeperRequest =
  | { task: number; op: 'seal'; before: string }
  | { task: number; op: 'purge'; today: string; requireSealed: boolean }
  | { close: true };
export interface PurgeSummary { days: string[]; count: number; held: string[] }
export type HousekeeperReply =
  | { task: number; ok: true; days: string[]; purge?: PurgeSummary }
  | { task: number; ok: false; error: string; name: string };

const init = workerData as HousekeeperInit;
const db = openArchiveConnection(init.file, init.busyTimeoutMs);
// A purge removes the records' index rows too.
attachIndex(db, init.file);
const store = new ArchiveStore(db);
const signer = loadOrCreateSigner(init.signingKey);

function purge(today: string, requireSealed: boolean): PurgeSummary {
  const out: PurgeSummary = { days: [], count: 0, held: [] };
  for (const day of dueDays(store, { today, requireSealed })) {
    const r = purgeExpired(store, signer, { today, requireSealed, day, reason: 'retention' });
    out.days.push(...r.days);
    out.count += r.count;
    for (const h of r.held) if (!out.held.includes(h)) out.held.push(h);
  }
  return out;
}

parentPort!.on('message', (req: HousekeeperRequest) => {
  if ('close' in req) {
    db.close();
    parentPort!.close();
    return;
  }
  let reply: HousekeeperReply;
  try {
    reply = req.op === 'seal'
      ? { task: req.task, ok: true, days: sealDays(store, signer, init.segmentsDir, { before: req.before }).map((m) => m.day) }
      : { task: req.task, ok: true, days: [], purge: purge(req.today, req.requireSealed) };
  } catch (err) {
    const e = err as Error;
    reply = { task: req.task, ok: false, error: e.message, name: e.name };
  }
  parentPort!.postMessage(reply);
});
