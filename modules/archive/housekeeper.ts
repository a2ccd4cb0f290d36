import { Worker } from 'node:worker_threads';
import { closeWorker, NumberedCalls, onWorkerGone } from './threads.js';
import type { HousekeeperInit, HousekeeperReply, HousekeeperRequest, PurgeSummary } from './housekeeper-worker.js';

/** An error from the housekeeping thread, with the name it had there (HoldError, RangeError …). */
class HousekeepingError extends Error {
  constructor(message: string, override readonly name: string) { super(message); }
}

type Op = { op: 'seal'; before: string } | { op: 'purge'; today: string; requireSealed: boolean };

/**
 * The main-thread side of the housekeeping thread: one task at a time, started on first use and
 * stopped with the module.
 */
export class Housekeeper {
  private worker: Worker | null = null;
  private readonly calls = new NumberedCalls<HousekeeperReply & { ok: true }>();

  constructor(private readonly init: HousekeeperInit) {}

  seal(before: string): Promise<string[]> {
    return this.run({ op: 'seal', before }).then((r) => r.days);
  }

  purge(today: string, requireSealed: boolean): Promise<PurgeSummary> {
    return this.run({ op: 'purge', today, requireSealed }).then((r) => r.purge!);
  }

  async stop(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await closeWorker(w);
  }

  private run(op: Op): Promise<HousekeeperReply & { ok: true }> {
    const worker = this.worker ?? this.start();
    const { id, reply } = this.calls.open();
    worker.postMessage({ task: id, ...op } satisfies HousekeeperRequest);
    return reply;
  }

  private start(): Worker {
    const worker = new Worker(new URL('./housekeeper-worker.js', import.meta.url), { workerData: this.init });
    worker.on('message', (r: HousekeeperReply) => {
      this.calls.settle(r.task, r.ok ? { ok: true, value: r } : { ok: false, error: new HousekeepingError(r.error, r.name) });
    });
    onWorkerGone(worker, 'archive housekeeping', (reason) => {
      if (this.worker === worker) this.worker = null;
      this.calls.failAll(new Error(reason));
    });
    this.worker = worker;
    return worker;
  }
}
