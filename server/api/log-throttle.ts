/**
 * At most one log line per interval for a condition that repeats while it lasts (every message
 * refused while the archive's disk is full): the occurrences in between are counted and reported
 * with the next line, so the log says how many without a line for each.
 *
 *   const refusals = new LogThrottle(10_000);
 *   const n = refusals.note();
 *   if (n > 0) ctx.log.error({ refusedSinceLastLine: n }, 'message refused');
 */
export class LogThrottle {
  private count = 0;
  private last = Number.NEGATIVE_INFINITY;

  constructor(private readonly intervalMs: number) {}

  /** Count `n` occurrences. Returns how many since the last line when a line is due now, else 0. */
  note(n = 1, now = Date.now()): number {
    this.count += n;
    if (now - this.last < this.intervalMs) return 0;
    this.last = now;
    const count = this.count;
    this.count = 0;
    return count;
  }
}
