/**
 * Samples a server's CPU seconds and RSS every 100 ms, so that a scenario can ask what the
 * server spent between two instants that a worker reported afterwards.
 */
import { cpuSeconds, machineBusySeconds, processCpuSeconds, rssBytes } from './proc-stats.js';

interface Sample { t: number; cpu: number; rss: number; machine: number; bench: number }

export class ServerSampler {
  private samples: Sample[] = [];
  private timer: NodeJS.Timeout | null = null;

  /**
   * `benchPids`: the load workers and this process, whose CPU is ours; what the machine spends
   * beyond them and the server is other people's load.
   */
  constructor(private readonly pid: number, private readonly benchPids: number[] = [], private readonly everyMs = 100) {}

  start(): void {
    this.stop();
    this.samples = [];
    this.take();
    this.timer = setInterval(() => this.take(), this.everyMs);
  }

  stop(): void {
    if (this.timer) { clearInterval(this.timer); this.timer = null; }
  }

  take(): Sample {
    const s = {
      t: Date.now(), cpu: cpuSeconds(this.pid), rss: rssBytes(this.pid), machine: machineBusySeconds(),
      bench: this.benchPids.reduce((n, pid) => n + processCpuSeconds(pid), 0),
    };
    this.samples.push(s);
    // Bounded: a 10-minute soak at 10 samples per second stays well under this.
    if (this.samples.length > 20_000) this.samples.splice(0, 10_000);
    return s;
  }

  /** CPU seconds at epoch ms `t`, interpolated between samples. */
  cpuAt(t: number): number {
    return this.interpolate(t, (s) => s.cpu);
  }

  /** Cores that processes other than the server and the benchmark kept busy between t0 and t1. */
  otherLoad(t0: number, t1: number): number {
    const machine = this.interpolate(t1, (s) => s.machine) - this.interpolate(t0, (s) => s.machine);
    const ours = this.cpuAt(t1) - this.cpuAt(t0) + this.interpolate(t1, (s) => s.bench) - this.interpolate(t0, (s) => s.bench);
    return Math.max(0, (machine - ours) / ((t1 - t0) / 1000));
  }

  rssAt(t: number): number {
    return this.interpolate(t, (s) => s.rss);
  }

  maxRssBetween(t0: number, t1: number): number {
    let max = 0;
    for (const s of this.samples) if (s.t >= t0 && s.t <= t1 && s.rss > max) max = s.rss;
    return max;
  }

  private interpolate(t: number, f: (s: Sample) => number): number {
    const xs = this.samples;
    if (xs.length === 0) return NaN;
    if (t <= xs[0]!.t) return f(xs[0]!);
    for (let i = 1; i < xs.length; i++) {
      const b = xs[i]!;
      if (b.t >= t) {
        const a = xs[i - 1]!;
        const k = b.t === a.t ? 1 : (t - a.t) / (b.t - a.t);
        return f(a) + (f(b) - f(a)) * k;
      }
    }
    return f(xs[xs.length - 1]!);
  }
}
