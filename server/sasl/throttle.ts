/**
 * Slows down password guessing: each recent failure from one address or for one account doubles
 * the delay before the next failure answer, up to a cap (RFC 6120 6.4.5 leaves the policy to us).
 * Memory is bounded: entries expire after the window and the table never exceeds maxEntries.
 */
export class AuthThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();

  constructor(private readonly opts: { baseDelayMs: number; maxDelayMs: number; windowMs: number; maxEntries?: number }) {}

  private recent(key: string, now: number): number {
    const e = this.failures.get(key);
    if (!e) return 0;
    if (now - e.last > this.opts.windowMs) { this.failures.delete(key); return 0; }
    return e.count;
  }

  /** Milliseconds to wait before answering a failure for this address/account. */
  delayFor(address: string, account: string | null, now = Date.now()): number {
    const n = Math.max(this.recent(`ip:${address}`, now), account ? this.recent(`acct:${account}`, now) : 0);
    if (n === 0) return 0;
    return Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (n - 1));
  }

  recordFailure(address: string, account: string | null, now = Date.now()): void {
    this.bump(`ip:${address}`, now);
    if (account) this.bump(`acct:${account}`, now);
  }

  recordSuccess(address: string, account: string): void {
    this.failures.delete(`ip:${address}`);
    this.failures.delete(`acct:${account}`);
  }

  private bump(key: string, now: number): void {
    const count = this.recent(key, now) + 1;
    this.failures.delete(key);
    this.failures.set(key, { count, last: now });
    const max = this.opts.maxEntries ?? 100_000;
    if (this.failures.size > max) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }
}
