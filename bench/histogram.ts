/**
 * Latency histogram with logarithmic buckets (about 1% wide), cheap to record into and to merge
 * across worker processes (plain arrays over IPC), precise enough for p50 and p99.
 */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Smallest value told apart, in milliseconds (1 microsecond). */
const FLOOR_MS = 0.001;
const BUCKETS = 2400; // 0.001 ms * 1.01^2400 ≈ 2e7 ms: anything longer lands in the last bucket

export interface HistogramData { counts: number[]; total: number; max: number }

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  total = 0;
  max = 0;

  record(ms: number): void {
    const v = ms < FLOOR_MS ? FLOOR_MS : ms;
    let b = Math.floor(Math.log(v / FLOOR_MS) / LOG_GROWTH);
    if (b >= BUCKETS) b = BUCKETS - 1;
    this.counts[b]!++;
    this.total++;
    if (ms > this.max) this.max = ms;
  }

  /** The value below which a fraction `q` (0..1) of the records lie, in milliseconds. */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return Math.min(FLOOR_MS * GROWTH ** (b + 0.5), this.max);
    }
    return this.max;
  }

  toJSON(): HistogramData {
    // Sparse-ish: trailing zeros dropped to keep IPC messages small.
    let last = BUCKETS - 1;
    while (last >= 0 && this.counts[last] === 0) last--;
    return { counts: Array.from(this.counts.subarray(0, last + 1)), total: this.total, max: this.max };
  }

  merge(data: HistogramData): void {
    for (let i = 0; i < data.counts.length; i++) this.counts[i]! += data.counts[i]!;
    this.total += data.total;
    if (data.max > this.max) this.max = data.max;
  }
}
