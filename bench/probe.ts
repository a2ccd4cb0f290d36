/**
 * Hardening check "a second client's ping is answered within a second under load": one more
 * client, in the coordinator's process (not the loaded worker), pings the server (XEP-0199)
 * four times a second, one ping outstanding at a time, and records the round trips.
 */
import { BenchConnection, type LoginOptions } from './load-client.js';
import { Histogram } from './histogram.js';
import { attr } from './xml-splitter.js';

export interface ProbeStats { pings: number; answered: number; maxMs: number; p99Ms: number; over1s: number; unanswered: number }

export class PingProbe {
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  private outstanding: { id: string; at: number } | null = null;
  private hist = new Histogram();
  private pings = 0;
  private over1s = 0;

  private constructor(private readonly conn: BenchConnection, private readonly domain: string) {
    conn.onStanza = (xml) => {
      if (!this.outstanding || !xml.startsWith('<iq') || attr(xml, 'id') !== this.outstanding.id) return;
      const ms = performance.now() - this.outstanding.at;
      this.outstanding = null;
      this.hist.record(ms);
      if (ms > 1000) this.over1s++;
    };
  }

  static async connect(opts: LoginOptions): Promise<PingProbe> {
    const { conn } = await BenchConnection.login(opts);
    return new PingProbe(conn, opts.domain);
  }

  /** Start a fresh measurement. */
  start(intervalMs = 250): void {
    this.stop();
    this.hist = new Histogram();
    this.pings = 0;
    this.over1s = 0;
    this.outstanding = null;
    this.timer = setInterval(() => this.ping(), intervalMs);
  }

  private ping(): void {
    if (this.outstanding) {
      // Still waiting: a late answer counts once it comes; a lost one shows as unanswered.
      if (performance.now() - this.outstanding.at > 1000 && !this.conn.bound) this.stop();
      return;
    }
    const id = `ping${++this.seq}`;
    this.outstanding = { id, at: performance.now() };
    this.pings++;
    this.conn.send(`<iq type='get' id='${id}' to='${this.domain}'><ping xmlns='urn:xmpp:ping'/></iq>`);
  }

  stop(): ProbeStats {
    if (this.timer) { clearInterval(this.timer); this.timer = null; }
    // A ping still unanswered at the end counts with the time it has waited so far.
    let unanswered = 0;
    let maxMs = this.hist.max;
    if (this.outstanding) {
      unanswered = 1;
      maxMs = Math.max(maxMs, performance.now() - this.outstanding.at);
      if (maxMs > 1000) this.over1s++;
      this.outstanding = null;
    }
    return { pings: this.pings, answered: this.hist.total, maxMs, p99Ms: this.hist.quantile(0.99), over1s: this.over1s, unanswered };
  }

  close(): void {
    this.stop();
    this.conn.close();
  }
}
