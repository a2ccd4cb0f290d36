/**
 * What a load worker does, phase by phase, on the coordinator's orders (bench/worker.ts carries
 * the orders over IPC). Every loop here is bounded in count and in time.
 */
import { BenchConnection, type LoginOptions, type SaslMechanism, type TlsInfo, type TlsMode } from './load-client.js';
import { Histogram, type HistogramData } from './histogram.js';
import { attr } from './xml-splitter.js';

/** Where and how to connect; the same for every user of a run. */
export interface Target {
  host: string;
  port: number;
  domain: string;
  tls: TlsMode;
  mechanism: SaslMechanism;
  password: string;
  loginTimeoutMs: number;
}

export interface WorkerCpu { cpuSeconds: number; wallSeconds: number }

function cpuMeter(): () => WorkerCpu {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const d = process.cpuUsage(cpu0);
    return { cpuSeconds: (d.user + d.system) / 1e6, wallSeconds: (performance.now() - t0) / 1000 };
  };
}

/** Run `fn` over `items` with at most `concurrency` at once. */
async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
}

function loginOptions(target: Target, username: string, resource: string): LoginOptions {
  return {
    host: target.host, port: target.port, domain: target.domain, tls: target.tls, mechanism: target.mechanism,
    username, password: target.password, resource, timeoutMs: target.loginTimeoutMs,
  };
}

/** Resolves with the first stanza `match` accepts, or rejects after `ms`. Restores the handler. */
function nextStanza(conn: BenchConnection, match: (xml: string) => boolean, ms: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const previous = conn.onStanza;
    const timer = setTimeout(() => { conn.onStanza = previous; reject(new Error(`no ${what} within ${ms} ms`)); }, ms);
    conn.onStanza = (xml) => {
      if (match(xml)) {
        clearTimeout(timer);
        conn.onStanza = previous;
        resolve(xml);
      } else {
        previous(xml);
      }
    };
  });
}

const ownPresence = (conn: BenchConnection) => (xml: string) =>
  xml.startsWith('<presence') && attr(xml, 'from') === conn.jid && attr(xml, 'type') === undefined;

/** Send initial presence and wait for the server's echo to this resource (RFC 6121 4.2.2). */
async function goOnline(conn: BenchConnection, ms: number): Promise<void> {
  const echoed = nextStanza(conn, ownPresence(conn), ms, 'echo of own presence');
  conn.send('<presence/>');
  await echoed;
}

async function fetchRoster(conn: BenchConnection, ms: number): Promise<number> {
  const reply = nextStanza(conn, (xml) => xml.startsWith('<iq') && attr(xml, 'id') === 'roster', ms, 'roster result');
  conn.send("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>");
  const xml = await reply;
  if (attr(xml, 'type') !== 'result') throw new Error(`roster get failed: ${xml.slice(0, 200)}`);
  return xml.split('<item ').length - 1;
}

function firstErrors(errors: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...errors.entries()].slice(0, 10));
}
function countError(errors: Map<string, number>, err: unknown): void {
  const msg = (err as Error).message.replace(/\d+/g, 'N').slice(0, 160);
  errors.set(msg, (errors.get(msg) ?? 0) + 1);
}

// ---- scenario 1: login ----------------------------------------------------------------------

export interface LoginResult {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  /** Time to bound of each successful login. */
  toBound: HistogramData;
  /** Epoch ms of the first connect and the last completed login. */
  startedAt: number;
  endedAt: number;
  tls: TlsInfo | null;
  worker: WorkerCpu;
  /** Mean time from the start to each milestone of the login, in milliseconds. */
  meanPhasesMs: { connected: number; tls: number; authenticated: number; bound: number };
}

/**
 * Each user connects, negotiates TLS, authenticates, binds, sends initial presence and waits for
 * its echo (the login is complete); `concurrency` logins at a time. The connections stay open
 * until every login is done (a logout is not part of the figure), then close.
 */
export async function loginScenario(target: Target, users: string[], concurrency: number, resource: string): Promise<LoginResult> {
  const meter = cpuMeter();
  const toBound = new Histogram();
  const phases = { connectedMs: 0, tlsMs: 0, authMs: 0, toBoundMs: 0 };
  const errors = new Map<string, number>();
  const open: BenchConnection[] = [];
  let ok = 0;
  let tlsInfo: TlsInfo | null = null;
  const startedAt = Date.now();
  let endedAt = startedAt;
  await pool(users, concurrency, async (user) => {
    let conn: BenchConnection | null = null;
    try {
      const r = await BenchConnection.login(loginOptions(target, user, resource));
      conn = r.conn;
      open.push(conn);
      toBound.record(r.timings.toBoundMs);
      phases.connectedMs += r.timings.connectedMs;
      phases.tlsMs += r.timings.tlsMs;
      phases.authMs += r.timings.authMs;
      phases.toBoundMs += r.timings.toBoundMs;
      tlsInfo ??= conn.tlsInfo;
      await goOnline(conn, target.loginTimeoutMs);
      ok++;
      endedAt = Date.now();
    } catch (err) {
      countError(errors, err);
      conn?.destroy();
    }
  });
  const worker = meter();
  for (const conn of open) conn.close();
  const n = Math.max(1, open.length);
  return {
    ok, failed: users.length - ok, errors: firstErrors(errors), toBound: toBound.toJSON(), startedAt, endedAt, tls: tlsInfo, worker,
    meanPhasesMs: { connected: phases.connectedMs / n, tls: phases.tlsMs / n, authenticated: phases.authMs / n, bound: phases.toBoundMs / n },
  };
}

// ---- connection groups (idle, chat, roster) -------------------------------------------------

const groups = new Map<string, Map<string, BenchConnection>>();

export interface OpenResult {
  opened: number;
  failed: number;
  errors: Record<string, number>;
  /** Connections of this group that the server closed since they were opened. */
  droppedSoFar: number;
  startedAt: number;
  endedAt: number;
  rosterItems: number;
  /** What the first connection negotiated. */
  tls: TlsInfo | null;
  worker: WorkerCpu;
}

const dropped = new Map<string, number>();

/**
 * Log `users` in and keep the connections in `group`: optionally fetch the roster (so the
 * session gets its contacts' presence, RFC 6121 2.2) and go online.
 */
export async function openGroup(
  target: Target, group: string, users: string[], concurrency: number, resource: string,
  opts: { roster: boolean; presence: boolean },
): Promise<OpenResult> {
  const meter = cpuMeter();
  const conns = groups.get(group) ?? new Map<string, BenchConnection>();
  groups.set(group, conns);
  dropped.set(group, dropped.get(group) ?? 0);
  const errors = new Map<string, number>();
  let opened = 0;
  let rosterItems = 0;
  let tlsInfo: TlsInfo | null = null;
  const startedAt = Date.now();
  await pool(users, concurrency, async (user) => {
    try {
      const { conn } = await BenchConnection.login(loginOptions(target, user, resource));
      conns.set(user, conn);
      tlsInfo ??= conn.tlsInfo;
      conn.onClose = () => {
        if (conns.get(user) === conn) { conns.delete(user); dropped.set(group, (dropped.get(group) ?? 0) + 1); }
      };
      if (opts.roster) {
        const items = await fetchRoster(conn, target.loginTimeoutMs); // not `+= await`: lanes run concurrently
        rosterItems += items;
      }
      if (opts.presence) await goOnline(conn, target.loginTimeoutMs);
      opened++;
    } catch (err) {
      countError(errors, err);
    }
  });
  return {
    opened, failed: users.length - opened, errors: firstErrors(errors), droppedSoFar: dropped.get(group) ?? 0,
    startedAt, endedAt: Date.now(), rosterItems, tls: tlsInfo, worker: meter(),
  };
}

export interface GroupState { open: number; dropped: number }

export function groupState(group: string): GroupState {
  return { open: groups.get(group)?.size ?? 0, dropped: dropped.get(group) ?? 0 };
}

/** Close every connection of the group politely and forget them. */
export async function closeGroup(group: string): Promise<GroupState> {
  const conns = groups.get(group);
  const state = groupState(group);
  if (conns) {
    for (const conn of conns.values()) { conn.onClose = () => undefined; conn.close(); }
    groups.delete(group);
  }
  dropped.delete(group);
  await new Promise((r) => setTimeout(r, 100));
  return state;
}

// ---- scenario 3: chat -----------------------------------------------------------------------

export interface ChatParams {
  group: string;
  /** [a, b]: a and b exchange messages both ways. */
  pairs: [string, string][];
  domain: string;
  /** Messages in flight per sender. */
  window: number;
  bodyBytes: number;
  /** Epoch ms: start sending; measure from/to; stop sending. */
  startAt: number;
  measureFrom: number;
  measureTo: number;
  /** After the stop, how long to wait for messages still in flight. */
  drainMs: number;
}

export interface ChatResult {
  sent: number;
  received: number;
  duplicates: number;
  /** Sent and never received after the drain. */
  missing: number;
  /** Received out of the order they were sent in (same sender). */
  reordered: number;
  unexpected: number;
  /** Messages received within [measureFrom, measureTo]. */
  deliveredInWindow: number;
  latency: HistogramData;
  worker: WorkerCpu;
  /** Worker CPU within the measured window only. */
  workerInWindow: WorkerCpu;
}

function body(bytes: number): string {
  const text = 'The quarterly numbers are in; let us meet at ten to go through them before the board call. Thanks! ';
  let out = '';
  while (out.length < bytes) out += text;
  return out.slice(0, bytes);
}

interface Sender {
  conn: BenchConnection;
  /** "<message to='peer' type='chat' id='m" — the seq and the rest follow. */
  prefix: string;
  nextSeq: number;
  /** Sent at (performance.now()) for every message in flight, by seq. */
  inFlight: Map<number, number>;
  lastReceivedSeq: number;
}

/**
 * P pairs exchange chat messages to each other's bare JID with a bounded window in flight per
 * sender: a sender writes its next message as soon as one of its messages arrives. Latency is
 * measured from the write to the arrival (both ends live in this process).
 */
export async function chatScenario(p: ChatParams): Promise<ChatResult> {
  const meter = cpuMeter();
  const conns = groups.get(p.group);
  if (!conns) throw new Error(`no connection group ${p.group}`);
  const suffix = `'><body>${body(p.bodyBytes)}</body></message>`;
  const latency = new Histogram();
  let sending = false;
  let inWindow = false;
  let sent = 0;
  let received = 0;
  let duplicates = 0;
  let reordered = 0;
  let unexpected = 0;
  let deliveredInWindow = 0;

  const send = (s: Sender) => {
    const seq = s.nextSeq++;
    s.inFlight.set(seq, performance.now());
    s.conn.send(s.prefix + seq + suffix);
    sent++;
  };

  const senders: Sender[] = [];
  for (const [a, b] of p.pairs) {
    const ca = conns.get(a);
    const cb = conns.get(b);
    if (!ca || !cb) continue;
    const sa: Sender = { conn: ca, prefix: `<message to='${b}@${p.domain}' type='chat' id='m`, nextSeq: 0, inFlight: new Map(), lastReceivedSeq: -1 };
    const sb: Sender = { conn: cb, prefix: `<message to='${a}@${p.domain}' type='chat' id='m`, nextSeq: 0, inFlight: new Map(), lastReceivedSeq: -1 };
    // Each side receives only from its partner: b's messages come from sa, a's from sb.
    cb.onStanza = (xml) => onReceive(sa, xml);
    ca.onStanza = (xml) => onReceive(sb, xml);
    senders.push(sa, sb);
  }

  function onReceive(from: Sender, xml: string): void {
    if (!xml.startsWith('<message')) { unexpected++; return; }
    const id = attr(xml, 'id');
    const seq = id && id.charCodeAt(0) === 0x6d /* m */ ? Number(id.slice(1)) : NaN;
    const sentAt = from.inFlight.get(seq);
    if (sentAt === undefined) {
      if (Number.isInteger(seq) && seq < from.nextSeq) duplicates++; else unexpected++;
      return;
    }
    from.inFlight.delete(seq);
    received++;
    if (seq < from.lastReceivedSeq) reordered++;
    from.lastReceivedSeq = seq;
    if (inWindow) {
      deliveredInWindow++;
      latency.record(performance.now() - sentAt);
    }
    if (sending) send(from);
  }

  const at = (epochMs: number, fn: () => void) => new Promise<void>((resolve) => {
    setTimeout(() => { fn(); resolve(); }, Math.max(0, epochMs - Date.now()));
  });
  let inWindowMeter: (() => WorkerCpu) | null = null;
  let workerInWindow: WorkerCpu = { cpuSeconds: 0, wallSeconds: 0 };
  await at(p.startAt, () => {
    sending = true;
    for (const s of senders) for (let i = 0; i < p.window; i++) send(s);
  });
  await at(p.measureFrom, () => { inWindow = true; inWindowMeter = cpuMeter(); });
  await at(p.measureTo, () => { inWindow = false; sending = false; workerInWindow = inWindowMeter!(); });
  // Drain: bounded in time; whatever is still in flight then is missing.
  const drainUntil = Date.now() + p.drainMs;
  while (Date.now() < drainUntil && senders.some((s) => s.inFlight.size > 0)) await new Promise((r) => setTimeout(r, 50));
  // A short extra wait catches duplicates that would follow the last original.
  await new Promise((r) => setTimeout(r, 200));
  const missing = senders.reduce((n, s) => n + s.inFlight.size, 0);
  for (const s of senders) s.conn.onStanza = () => undefined;
  return { sent, received, duplicates, missing, reordered, unexpected, deliveredInWindow, latency: latency.toJSON(), worker: meter(), workerInWindow };
}

// ---- scenario 4: roster presence fan-out ----------------------------------------------------

export interface RosterParams {
  group: string;
  domain: string;
  /** For each user of this worker, the contacts whose presence it must see. */
  contacts: Record<string, string[]>;
  startAt: number;
  timeoutMs: number;
}

export interface RosterResult {
  users: number;
  /** Users that saw every contact online. */
  complete: number;
  /** Available presence stanzas from contacts received up to the moment the last user was complete. */
  delivered: number;
  /** Further presence from contacts seen again (probe answer and broadcast both arrived). */
  repeats: number;
  /** All presence stanzas received until the quiet end, echoes and repeats included. */
  allPresence: number;
  /** Epoch ms when the last needed presence arrived (or the timeout). */
  endedAt: number;
  worker: WorkerCpu;
}

/**
 * Users whose resources are bound and whose rosters are loaded all send initial presence at
 * `startAt`; each must then see every contact's available presence (probe answers and
 * broadcasts, RFC 6121 4.2.2 and 4.3).
 */
export async function rosterScenario(p: RosterParams): Promise<RosterResult> {
  const meter = cpuMeter();
  const conns = groups.get(p.group);
  if (!conns) throw new Error(`no connection group ${p.group}`);
  const users = Object.keys(p.contacts).filter((u) => conns.has(u));
  let remainingUsers = users.length;
  let delivered = 0;
  let repeats = 0;
  let allPresence = 0;
  let endedAt = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => { resolveDone = r; });
  const domainSuffix = `@${p.domain}`;

  for (const user of users) {
    const conn = conns.get(user)!;
    const waiting = new Set(p.contacts[user]!.map((c) => c + domainSuffix));
    const seen = new Set<string>();
    if (waiting.size === 0) remainingUsers--;
    conn.onStanza = (xml) => {
      if (!xml.startsWith('<presence')) return;
      allPresence++;
      if (attr(xml, 'type') !== undefined) return;
      const from = attr(xml, 'from') ?? '';
      const slash = from.indexOf('/');
      const bare = slash >= 0 ? from.slice(0, slash) : from;
      if (waiting.delete(bare)) {
        seen.add(bare);
        delivered++;
        if (waiting.size === 0 && --remainingUsers === 0) { endedAt = Date.now(); resolveDone(); }
      } else if (seen.has(bare)) {
        repeats++;
      }
    };
  }
  if (remainingUsers === 0) resolveDone();
  await new Promise((r) => setTimeout(r, Math.max(0, p.startAt - Date.now())));
  for (const user of users) conns.get(user)!.send('<presence/>');
  const timer = setTimeout(() => { endedAt = Date.now(); resolveDone(); }, p.timeoutMs);
  await done;
  clearTimeout(timer);
  // Let late repeats arrive so the server is quiet before the next phase (not counted in the rate).
  await new Promise((r) => setTimeout(r, 300));
  const complete = users.length - remainingUsers;
  for (const user of users) conns.get(user)!.onStanza = () => undefined;
  return { users: users.length, complete, delivered, repeats, allPresence, endedAt, worker: meter() };
}
