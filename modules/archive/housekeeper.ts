import { Worker } from 'node:worker_threads';
import { closeWorker } from './threads.js';
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
  private next = 0;
  private readonly waiting = new Map<number, { resolve(r: HousekeeperReply & { ok: true }): void; reject(e: Error): void }>();

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
    const task = ++this.next;
    return new Promise((resolve, reject) => {
      this.waiting.set(task, { resolve, reject });
      worker.postMessage({ task, ...op } satisfies HousekeeperRequest);
    });
  }

  private start(): Worker {
    const worker = new Worker(new URL('./housekeeper-worker.js', import.meta.url), { workerData: this.init });
    worker.on('message', (r: HousekeeperReply) => {
      const w = this.waiting.get(r.task);
      if (!w) return;
      this.waiting.delete(r.task);
      if (r.ok) w.resolve(r); else w.reject(new HousekeepingError(r.error, r.name));
    });
    const fail = (reason: string) => {
      if (this.worker === worker) this.worker = null;
      for (const w of this.waiting.values()) w.reject(new Error(reason));
      this.waiting.clear();
    };
    worker.on('error', (err) => fail(`archive housekeeping failed: ${err.message}`));
    worker.on('exit', (code) => fail(`archive housekeeping stopped (exit ${code})`));
    this.worker = worker;
    return worker;
  }
}
