/**
 * `npm run bench`: Parley against Prosody on this machine, one server at a time, through the
 * same scenarios with the same parameters (bench/README.md explains every figure).
 *
 *   bash bench/run.sh [--quick] [--only parley|prosody] [--scenarios login,idle,chat,roster,archive,fdlimit] ...
 *
 * The coordinator (this process) prepares both servers, starts each as a child process on
 * loopback ports, drives load workers (child processes, bench/worker.ts) through the scenarios,
 * samples the server's CPU and memory from /proc, runs the ping probe, and writes the table of
 * both servers with the ratio Parley / Prosody as text and JSON (bench/results/latest.*).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Histogram } from './histogram.js';
import type { SaslMechanism, TlsInfo, TlsMode } from './load-client.js';
import type { ChatResult, GroupState, LoginResult, OpenResult, RosterResult, Target } from './load-scenarios.js';
import { PingProbe, type ProbeStats } from './probe.js';
import { isAlive, openFds, rssBytes, waitMachineQuiet, waitQuiet } from './proc-stats.js';
import { archiveTable, rows, table, type FigureValues, type Row } from './report.js';
import { ServerSampler } from './sampler.js';
import {
  makePopulation, parleyModules, parleySetup, prosodySetup, prosodyVersion, writeCertificate,
  type ArchiveCount, type Population, type RunningServer, type ServerName, type ServerSetup,
} from './servers.js';
import type { WorkerOrder, WorkerReply } from './worker.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
type Scenario = 'login' | 'idle' | 'chat' | 'roster' | 'archive' | 'fdlimit';
const ALL_SCENARIOS: Scenario[] = ['login', 'idle', 'chat', 'roster', 'archive', 'fdlimit'];

interface Settings {
  mode: 'quick' | 'full';
  servers: ServerName[];
  scenarios: Scenario[];
  workers: number;
  tls: TlsMode;
  mechanism: SaslMechanism;
  iterations: number;
  login: { users: number; concurrency: number };
  idle: { connections: number; concurrency: number };
  chat: { pairs: number; window: number; seconds: number; warmupSeconds: number; bodyBytes: number };
  roster: { users: number; contacts: number };
  fdlimit: { limit: number; connections: number };
  profileDir: string | null;
  /** Longest wait for other processes to leave the machine idle before each scenario. */
  quietWaitMs: number;
  /** Prosody network_settings given on the command line (--prosody-net nagle=false,...). */
  prosodyNet: Record<string, boolean | number>;
  /** Prosody modules left out (--prosody-without carbons,csi_simple). */
  prosodyWithout: string[];
  out: string;
  keep: boolean;
}

const USAGE = `Usage: bash bench/run.sh [options]   (or: node dist/bench/run.js [options])

  --quick                 small sizes, under 2 minutes (default: the full run, under 10 minutes)
  --only NAME             run one server only: parley or prosody (no ratios)
  --scenarios LIST        comma-separated: ${ALL_SCENARIOS.join(',')} (default: all; --quick skips fdlimit)
  --workers N             load worker processes (default 1: on 2 cores the server gets the other)
  --tls MODE              starttls (default) or direct (XEP-0368)
  --mechanism NAME        SCRAM-SHA-1 (default) or PLAIN
  --iterations N          SCRAM iteration count stored for every account on both servers (default 4096)
  --login-users N --login-concurrency C
  --idle-connections K --idle-concurrency C
  --chat-pairs P --chat-window W --chat-seconds T --chat-warmup S
                          (also for "archive": the chat scenario with Parley's archive and mam modules and
                          Prosody's mod_mam loaded)
  --roster-users R --roster-contacts N
  --fd-limit L --fd-connections M
  --prosody-net K=V,...   Prosody network_settings (server_epoll); default nagle=false (TCP_NODELAY, as
                          Parley); "none" keeps Prosody's shipped settings
  --prosody-without LIST  leave these Prosody modules out (to see what one costs; not for quoting)
  --quiet-wait S          before each scenario, wait up to S seconds for the machine to be idle (quick 3, full 10)
  --profile DIR           start Parley under node --cpu-prof; DIR/parley-<scenario>-<time>/ gets one profile
                          per thread (the main thread, and the archive writer's in scenario archive)
  --out FILE              JSON results (default bench/results/latest.json; a .md beside it)
  --keep                  keep the servers' data folders (printed at the end)
`;

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv, strict: true,
    options: {
      quick: { type: 'boolean' }, only: { type: 'string' }, scenarios: { type: 'string' }, workers: { type: 'string' },
      tls: { type: 'string' }, mechanism: { type: 'string' }, iterations: { type: 'string' },
      'login-users': { type: 'string' }, 'login-concurrency': { type: 'string' },
      'idle-connections': { type: 'string' }, 'idle-concurrency': { type: 'string' },
      'chat-pairs': { type: 'string' }, 'chat-window': { type: 'string' }, 'chat-seconds': { type: 'string' }, 'chat-warmup': { type: 'string' },
      'roster-users': { type: 'string' }, 'roster-contacts': { type: 'string' },
      'fd-limit': { type: 'string' }, 'fd-connections': { type: 'string' },
      'prosody-net': { type: 'string' }, 'prosody-without': { type: 'string' }, 'quiet-wait': { type: 'string' }, profile: { type: 'string' }, out: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(USAGE); process.exit(0); }
  const quick = values.quick === true;
  const int = (name: keyof typeof values, quickValue: number, fullValue: number, min = 1): number => {
    const raw = values[name];
    const v = raw === undefined ? (quick ? quickValue : fullValue) : Number(raw);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${name}: expected an integer of at least ${min}, got ${String(raw)}`);
    return v;
  };
  const servers: ServerName[] = values.only === undefined ? ['parley', 'prosody']
    : values.only === 'parley' || values.only === 'prosody' ? [values.only]
      : (() => { throw new Error(`--only: expected parley or prosody, got ${values.only}`); })();
  const scenarios = values.scenarios === undefined
    ? ALL_SCENARIOS.filter((s) => !(quick && s === 'fdlimit'))
    : values.scenarios.split(',').map((s) => {
      if (!ALL_SCENARIOS.includes(s as Scenario)) throw new Error(`--scenarios: unknown scenario "${s}" (known: ${ALL_SCENARIOS.join(', ')})`);
      return s as Scenario;
    });
  const tls = values.tls ?? 'starttls';
  if (tls !== 'starttls' && tls !== 'direct') throw new Error(`--tls: expected starttls or direct, got ${tls}`);
  const mechanism = values.mechanism ?? 'SCRAM-SHA-1';
  if (mechanism !== 'SCRAM-SHA-1' && mechanism !== 'PLAIN') throw new Error(`--mechanism: expected SCRAM-SHA-1 or PLAIN, got ${mechanism}`);
  return {
    mode: quick ? 'quick' : 'full',
    servers, scenarios,
    workers: int('workers', 1, 1),
    tls, mechanism,
    iterations: int('iterations', 4096, 4096, 4096),
    login: { users: int('login-users', 500, 2000), concurrency: int('login-concurrency', 50, 50) },
    idle: { connections: int('idle-connections', 1000, 10_000), concurrency: int('idle-concurrency', 100, 100) },
    chat: {
      pairs: int('chat-pairs', 50, 200), window: int('chat-window', 4, 4),
      seconds: int('chat-seconds', 8, 30), warmupSeconds: int('chat-warmup', 2, 3, 0), bodyBytes: 100,
    },
    roster: { users: int('roster-users', 200, 1000), contacts: int('roster-contacts', 100, 100, 2) },
    fdlimit: { limit: int('fd-limit', 256, 256, 64), connections: int('fd-connections', 400, 400) },
    // Nagle off on Prosody's sockets, as on Parley's (both then write small stanzas at once);
    // `--prosody-net none` keeps Prosody's shipped network settings.
    prosodyNet: Object.fromEntries((values['prosody-net'] ?? 'nagle=false').split(',').filter((kv) => kv && kv !== 'none').map((kv) => {
      const [k, v] = kv.split('=');
      if (!k || v === undefined) throw new Error(`--prosody-net: expected key=value pairs, got "${kv}"`);
      return [k, v === 'true' ? true : v === 'false' ? false : Number(v)];
    })),
    prosodyWithout: (values['prosody-without'] ?? '').split(',').filter(Boolean),
    quietWaitMs: int('quiet-wait', 3, 10, 0) * 1000,
    profileDir: values.profile ? path.resolve(values.profile) : null,
    out: path.resolve(values.out ?? 'bench/results/latest.json'),
    keep: values.keep === true,
  };
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ---- load workers -------------------------------------------------------------------------------

class Workers {
  private readonly procs: ChildProcess[] = [];
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private nextId = 1;

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      const child = fork(path.join(HERE, 'worker.js'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.on('message', (reply: WorkerReply) => {
        const p = this.pending.get(reply.id);
        if (!p) return;
        this.pending.delete(reply.id);
        clearTimeout(p.timer);
        if (reply.ok) p.resolve(reply.result); else p.reject(new Error(`worker ${i}: ${reply.error}`));
      });
      child.on('exit', (code, signal) => {
        for (const [id, p] of this.pending) {
          this.pending.delete(id);
          clearTimeout(p.timer);
          p.reject(new Error(`worker ${i} exited (${code ?? signal})`));
        }
      });
      this.procs.push(child);
    }
  }

  get count(): number { return this.procs.length; }
  get pids(): number[] { return this.procs.map((p) => p.pid!); }

  /** Send one order to worker `i`; bounded by `timeoutMs`. */
  call<T>(i: number, order: WorkerOrder, timeoutMs: number): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`worker ${i}: ${order.op} took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.procs[i]!.send({ id, order });
    });
  }

  /** One order per worker (orders[i] to worker i), all at once. */
  all<T>(orders: WorkerOrder[], timeoutMs: number): Promise<T[]> {
    return Promise.all(orders.map((o, i) => this.call<T>(i, o, timeoutMs)));
  }

  /** Deal items round-robin to the workers. */
  split<T>(items: readonly T[]): T[][] {
    const parts: T[][] = this.procs.map(() => []);
    items.forEach((item, i) => parts[i % parts.length]!.push(item));
    return parts;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.procs.map((_, i) => this.call(i, { op: 'exit' }, 2000)));
    for (const p of this.procs) if (p.exitCode === null) p.kill();
  }
}

// ---- one server's run ---------------------------------------------------------------------------

interface ScenarioDetails { [key: string]: unknown }

interface ServerRun {
  name: ServerName;
  version: string;
  figures: FigureValues;
  details: Record<string, ScenarioDetails>;
  tls: TlsInfo | null;
  logWarnings: string[];
  crashed: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function mergeHistograms(datas: { counts: number[]; total: number; max: number }[]): Histogram {
  const h = new Histogram();
  for (const d of datas) h.merge(d);
  return h;
}

/** Median of a few RSS readings a little apart (Node and Lua both move memory around). */
async function steadyRss(pid: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) { xs.push(rssBytes(pid)); await sleep(300); }
  xs.sort((a, b) => a - b);
  return xs[2]!;
}

function target(server: RunningServer, pop: Population, s: Settings, loginTimeoutMs = 30_000): Target {
  return {
    host: '127.0.0.1', port: s.tls === 'direct' ? server.directTlsPort : server.port, domain: pop.domain,
    tls: s.tls, mechanism: s.mechanism, password: pop.password, loginTimeoutMs,
  };
}

/**
 * Each scenario gets a freshly started server, so that none is measured in the state another
 * left behind (memory grown by 10,000 connections, caches, garbage).
 */
async function runServer(setup: ServerSetup, pop: Population, s: Settings, workers: Workers): Promise<ServerRun> {
  const run: ServerRun = { name: setup.name, version: setup.version, figures: {}, details: {}, tls: null, logWarnings: [], crashed: null };
  for (const scenario of s.scenarios) {
    if (scenario === 'fdlimit') {
      try {
        await fdLimitPhase(run, setup, pop, s, workers);
      } catch (err) {
        run.details.fdlimit = { error: (err as Error).message };
        log(`${setup.name}: fdlimit FAILED: ${(err as Error).message}`);
      }
      continue;
    }
    const nodeArgs = setup.name === 'parley' && s.profileDir
      // A folder per scenario and Node's own file names (CPU.<date>.<pid>.<thread>.<n>.cpuprofile):
      // worker threads (the archive's writer) inherit --cpu-prof, and a fixed --cpu-prof-name
      // would make them overwrite the main thread's profile.
      ? ['--cpu-prof', '--cpu-prof-dir', path.join(s.profileDir, `parley-${scenario}-${Date.now()}`)] : [];
    const machineBusy = await waitMachineQuiet(s.quietWaitMs);
    if (machineBusy >= 0.15) log(`${setup.name}: ${scenario}: the machine is busy with other work (${machineBusy.toFixed(2)} cores); measuring anyway`);
    const server = await setup.start({ nodeArgs, archive: scenario === 'archive' });
    log(`${setup.name}: ${scenario} (server pid ${server.pid})`);
    const sampler = new ServerSampler(server.pid, [process.pid, ...workers.pids]);
    sampler.start();
    let probe: PingProbe | null = null;
    try {
      const t = target(server, pop, s);
      probe = await PingProbe.connect({
        host: t.host, port: t.port, domain: t.domain, tls: t.tls, mechanism: t.mechanism,
        username: pop.probeUser, password: pop.password, resource: 'probe', timeoutMs: 30_000,
      });
      await waitQuiet(server.pid);
      if (scenario === 'login') await loginPhase(run, server, sampler, pop, s, workers);
      if (scenario === 'idle') await idlePhase(run, server, probe, pop, s, workers);
      if (scenario === 'chat' || scenario === 'archive') await chatPhase(scenario, run, server, sampler, probe, pop, s, workers);
      if (scenario === 'roster') await rosterPhase(run, server, sampler, probe, pop, s, workers);
      if (server.exited() !== null) throw new Error(`${setup.name} exited during ${scenario} (${server.exited()})`);
    } catch (err) {
      run.crashed = `${scenario}: ${(err as Error).message}`;
      log(`${setup.name}: ${scenario} FAILED: ${(err as Error).message}`);
      // Connections a failed phase left open must not leak into the next one.
      await Promise.allSettled(['idle', 'chat', 'roster'].map((group) => workers.all(workers.split([0]).map(() => ({ op: 'close', group })), 30_000)));
    } finally {
      probe?.close();
      sampler.stop();
      await server.stop();
      run.logWarnings.push(...logWarnings(server.warnLogFile, server.name).map((w) => `${scenario}: ${w}`));
    }
    if (scenario === 'archive' && run.details.archive) checkArchive(run, setup);
  }
  return run;
}

/**
 * After the archive-on chat (the server has stopped, its writer drained): every message the
 * clients received must be in the archive once. Parley keeps one record per message (with a
 * view for each local participant); Prosody's mod_mam one item in the sender's and one in the
 * recipient's archive.
 */
function checkArchive(run: ServerRun, setup: ServerSetup): void {
  const d = run.details.archive!;
  const received = d.received as number;
  let count: ArchiveCount;
  try {
    count = setup.archiveCount();
  } catch (err) {
    const check: ArchiveCheck = { error: (err as Error).message, ok: false };
    d.archiveCheck = check;
    log(`${setup.name}: archive: ${describeArchiveCheck(check)}`);
    return;
  }
  const perMessage = setup.name === 'parley' ? 1 : 2;
  const ok = count.records === received * perMessage &&
    (count.distinctMessages === undefined || count.distinctMessages === count.records) &&
    (count.userViews === undefined || count.userViews === 2 * count.records);
  const check: ArchiveCheck = { ...count, delivered: received, expectedRecords: received * perMessage, ok };
  d.archiveCheck = check;
  log(`  ${setup.name} archive: ${describeArchiveCheck(check)}` +
    (perMessage === 2 ? ' (one in the sender\'s and one in the recipient\'s archive)' : ''));
}

/** What checkArchive found (details.archive.archiveCheck). */
type ArchiveCheck = Partial<ArchiveCount> & { ok: boolean; delivered?: number; expectedRecords?: number; error?: string };

/** One line for the log and the notes: counts against what was delivered, and the verdict. */
function describeArchiveCheck(c: ArchiveCheck): string {
  if (c.error !== undefined) return `could not count the archive: ${c.error}`;
  return `${c.records} message records, ${c.expectedRecords} expected for ${c.delivered} messages delivered` +
    (c.distinctMessages !== undefined ? `, ${c.distinctMessages} distinct (sender, id)` : '') +
    (c.userViews !== undefined ? `, ${c.userViews} user views` : '') +
    `: ${c.ok ? 'every delivered message archived exactly once' : 'MISMATCH'}`;
}

/** Warnings and errors the server logged (its log level is warn): counted by message. */
function logWarnings(file: string, name: ServerName): string[] {
  let text = '';
  try { text = fs.readFileSync(file, 'utf8'); } catch { return []; }
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.trim() || line.includes('Received SIGTERM')) continue; // our own stop
    let msg = line;
    if (name === 'parley') {
      // Parley's log is JSON lines; other lines are its start-up banner.
      try {
        const j = JSON.parse(line) as { msg?: string; level?: number | string };
        msg = `${j.level ?? ''} ${j.msg ?? line}`;
      } catch { continue; }
    } else {
      // Prosody: "date time source level message"; traceback lines follow errors.
      msg = line.replace(/^\w{3} \d+ [\d:]+ /, '');
    }
    msg = msg.replace(/\d+/g, 'N').slice(0, 200);
    counts.set(msg, (counts.get(msg) ?? 0) + 1);
  }
  return [...counts.entries()].slice(0, 20).map(([m, n]) => `${n}x ${m}`);
}

async function loginPhase(run: ServerRun, server: RunningServer, sampler: ServerSampler, pop: Population, s: Settings, workers: Workers): Promise<void> {
  const users = pop.plainUsers.slice(0, s.login.users);
  const perWorker = Math.max(1, Math.ceil(s.login.concurrency / workers.count));
  // Warm-up (not measured): a quarter of the logins, so that neither server is measured cold.
  const warm = users.slice(0, Math.ceil(users.length / 4));
  await workers.all<LoginResult>(workers.split(warm).map((u) => ({
    op: 'login', target: target(server, pop, s), users: u, concurrency: perWorker, resource: 'warm-up',
  })), 10 * 60_000);
  await waitQuiet(server.pid, 10_000);
  const parts = workers.split(users);
  const results = await workers.all<LoginResult>(parts.map((u) => ({
    op: 'login', target: target(server, pop, s), users: u, concurrency: perWorker, resource: 'login',
  })), 10 * 60_000);
  const startedAt = Math.min(...results.map((r) => r.startedAt));
  const endedAt = Math.max(...results.map((r) => r.endedAt));
  const ok = sum(results.map((r) => r.ok));
  const seconds = (endedAt - startedAt) / 1000;
  const hist = mergeHistograms(results.map((r) => r.toBound));
  const cpu = sampler.cpuAt(endedAt) - sampler.cpuAt(startedAt);
  run.tls ??= results.find((r) => r.tls)?.tls ?? null;
  run.figures['login.perSecond'] = ok / seconds;
  run.figures['login.toBoundP50'] = hist.quantile(0.5);
  run.figures['login.toBoundP99'] = hist.quantile(0.99);
  run.figures['login.cpuMsPerLogin'] = (cpu * 1000) / ok;
  run.figures['login.serverCpuShare'] = cpu / seconds;
  run.figures['login.clientCpuShare'] = sum(results.map((r) => r.worker.cpuSeconds)) / seconds;
  const errors: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  run.details.login = {
    users: users.length, concurrency: s.login.concurrency, ok, failed: sum(results.map((r) => r.failed)), errors,
    seconds, serverCpuSeconds: cpu, serverCpuShare: cpu / seconds,
    clientCpuShare: sum(results.map((r) => r.worker.cpuSeconds)) / seconds,
    warmupLogins: warm.length, meanPhasesMs: results[0]?.meanPhasesMs,
    otherLoadCores: sampler.otherLoad(startedAt, endedAt),
  };
  log(`  ${ok}/${users.length} logins in ${seconds.toFixed(1)} s: ${(ok / seconds).toFixed(0)}/s, p99 to bound ${hist.quantile(0.99).toFixed(1)} ms`);
}

async function idlePhase(run: ServerRun, server: RunningServer, probe: PingProbe, pop: Population, s: Settings, workers: Workers): Promise<void> {
  const users = pop.plainUsers.slice(0, s.idle.connections);
  const baseline = await steadyRss(server.pid);
  probe.start();
  const perWorker = Math.max(1, Math.ceil(s.idle.concurrency / workers.count));
  const opened = await workers.all<OpenResult>(workers.split(users).map((u) => ({
    op: 'open', target: target(server, pop, s), group: 'idle', users: u, concurrency: perWorker, resource: 'idle', roster: false, presence: true,
  })), 10 * 60_000);
  const openSeconds = (Math.max(...opened.map((r) => r.endedAt)) - Math.min(...opened.map((r) => r.startedAt))) / 1000;
  await waitQuiet(server.pid, 10_000);
  await sleep(1000);
  const held = await steadyRss(server.pid);
  const fds = openFds(server.pid);
  const states = await workers.all<GroupState>(workers.split(users).map(() => ({ op: 'state', group: 'idle' })), 10_000);
  const ping = probe.stop();
  const open = sum(states.map((x) => x.open));
  const failed = sum(opened.map((r) => r.failed));
  const errors: Record<string, number> = {};
  for (const r of opened) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  run.figures['idle.held'] = open;
  run.figures['idle.kbPerConnection'] = (held - baseline) / 1024 / Math.max(1, open);
  run.figures['idle.pingMaxMs'] = ping.maxMs;
  run.details.idle = {
    target: users.length, held: open, failed, dropped: sum(states.map((x) => x.dropped)), errors,
    rssBaselineMiB: baseline / 2 ** 20, rssHeldMiB: held / 2 ** 20, serverOpenFds: fds, openSeconds, ping,
  };
  log(`  held ${open}/${users.length} (failed ${failed}); RSS ${(baseline / 2 ** 20).toFixed(0)} -> ${(held / 2 ** 20).toFixed(0)} MiB: ${run.figures['idle.kbPerConnection']!.toFixed(1)} KiB per connection`);
  await workers.all(workers.split(users).map(() => ({ op: 'close', group: 'idle' })), 60_000);
}

/** Scenario 3 (`chat`), and scenario 5 (`archive`: the same on a server with archiving on). */
async function chatPhase(key: 'chat' | 'archive', run: ServerRun, server: RunningServer, sampler: ServerSampler, probe: PingProbe, pop: Population, s: Settings, workers: Workers): Promise<void> {
  const users = pop.plainUsers.slice(0, s.chat.pairs * 2);
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < users.length; i += 2) pairs.push([users[i]!, users[i + 1]!]);
  const parts = workers.split(pairs);
  const opened = await workers.all<OpenResult>(parts.map((ps) => ({
    op: 'open', target: target(server, pop, s), group: 'chat', users: ps.flat(), concurrency: 50, resource: 'chat', roster: false, presence: true,
  })), 5 * 60_000);
  const failed = sum(opened.map((r) => r.failed));
  if (failed > 0) throw new Error(`${key}: ${failed} users could not log in: ${JSON.stringify(opened.map((r) => r.errors))}`);
  run.tls ??= opened.find((r) => r.tls)?.tls ?? null;
  await waitQuiet(server.pid, 10_000);
  const startAt = Date.now() + 500;
  const measureFrom = startAt + s.chat.warmupSeconds * 1000;
  const measureTo = measureFrom + s.chat.seconds * 1000;
  const drainMs = 10_000;
  probe.start();
  const results = await workers.all<ChatResult>(parts.map((ps) => ({
    op: 'chat', params: {
      group: 'chat', pairs: ps, domain: pop.domain, window: s.chat.window, bodyBytes: s.chat.bodyBytes,
      startAt, measureFrom, measureTo, drainMs,
    },
  })), measureTo - Date.now() + drainMs + 60_000);
  const ping = probe.stop();
  const delivered = sum(results.map((r) => r.deliveredInWindow));
  const cpu = sampler.cpuAt(measureTo) - sampler.cpuAt(measureFrom);
  const hist = mergeHistograms(results.map((r) => r.latency));
  const rssFrom = sampler.rssAt(measureFrom);
  const rssTo = sampler.rssAt(measureTo);
  const totals = {
    sent: sum(results.map((r) => r.sent)), received: sum(results.map((r) => r.received)),
    duplicates: sum(results.map((r) => r.duplicates)), missing: sum(results.map((r) => r.missing)),
    reordered: sum(results.map((r) => r.reordered)), unexpected: sum(results.map((r) => r.unexpected)),
  };
  const exactlyOnce = totals.duplicates === 0 && totals.missing === 0 && totals.unexpected === 0 && totals.sent === totals.received;
  run.figures[`${key}.perSecond`] = delivered / s.chat.seconds;
  run.figures[`${key}.latencyP50`] = hist.quantile(0.5);
  run.figures[`${key}.latencyP99`] = hist.quantile(0.99);
  run.figures[`${key}.cpuPer1000`] = (cpu / delivered) * 1000;
  run.figures[`${key}.serverCpuShare`] = cpu / s.chat.seconds;
  run.figures[`${key}.clientCpuShare`] = sum(results.map((r) => r.workerInWindow.cpuSeconds)) / s.chat.seconds;
  run.figures[`${key}.rssDrift`] = rssTo / rssFrom;
  run.figures[`${key}.pingMaxMs`] = ping.maxMs;
  run.details[key] = {
    pairs: pairs.length, window: s.chat.window, seconds: s.chat.seconds, warmupSeconds: s.chat.warmupSeconds, bodyBytes: s.chat.bodyBytes,
    deliveredInWindow: delivered, ...totals, exactlyOnce, serverCpuSeconds: cpu,
    latencyMaxMs: hist.max, rssAfterWarmupMiB: rssFrom / 2 ** 20, rssEndMiB: rssTo / 2 ** 20,
    rssMaxMiB: sampler.maxRssBetween(measureFrom, measureTo) / 2 ** 20, ping,
    // Eleven readings across the window: growth that levels off is warm-up, steady growth a leak.
    rssSeriesMiB: Array.from({ length: 11 }, (_, k) => Math.round(sampler.rssAt(measureFrom + (k * (measureTo - measureFrom)) / 10) / 2 ** 20 * 10) / 10),
    otherLoadCores: sampler.otherLoad(measureFrom, measureTo),
  };
  log(`  ${key}: ${(delivered / s.chat.seconds).toFixed(0)} msg/s, p50 ${hist.quantile(0.5).toFixed(2)} ms, p99 ${hist.quantile(0.99).toFixed(2)} ms, ` +
    `${((cpu / delivered) * 1000).toFixed(4)} CPU s/1000; exactly once: ${exactlyOnce ? 'yes' : `NO ${JSON.stringify(totals)}`}`);
  await workers.all(parts.map(() => ({ op: 'close', group: 'chat' })), 60_000);
}

async function rosterPhase(run: ServerRun, server: RunningServer, sampler: ServerSampler, probe: PingProbe, pop: Population, s: Settings, workers: Workers): Promise<void> {
  const parts = workers.split(pop.rosterUsers);
  const opened = await workers.all<OpenResult>(parts.map((u) => ({
    op: 'open', target: target(server, pop, s), group: 'roster', users: u, concurrency: 50, resource: 'roster', roster: true, presence: false,
  })), 5 * 60_000);
  const failed = sum(opened.map((r) => r.failed));
  if (failed > 0) throw new Error(`roster: ${failed} users could not log in: ${JSON.stringify(opened.map((r) => r.errors))}`);
  const rosterItems = sum(opened.map((r) => r.rosterItems));
  await waitQuiet(server.pid, 10_000);
  const startAt = Date.now() + 300;
  const timeoutMs = 120_000;
  probe.start();
  const results = await workers.all<RosterResult>(parts.map((u) => ({
    op: 'roster', params: {
      group: 'roster', domain: pop.domain, startAt, timeoutMs,
      contacts: Object.fromEntries(u.map((user) => [user, pop.contactsOf(user)])),
    },
  })), timeoutMs + 60_000);
  const ping = probe.stop();
  const endedAt = Math.max(...results.map((r) => r.endedAt));
  const seconds = (endedAt - startAt) / 1000;
  const delivered = sum(results.map((r) => r.delivered));
  const complete = sum(results.map((r) => r.complete));
  const cpu = sampler.cpuAt(endedAt) - sampler.cpuAt(startAt);
  run.figures['roster.perSecond'] = delivered / seconds;
  run.figures['roster.cpuPer1000'] = (cpu / delivered) * 1000;
  run.figures['roster.seconds'] = seconds;
  run.figures['roster.pingMaxMs'] = ping.maxMs;
  run.details.roster = {
    users: pop.rosterUsers.length, contacts: s.roster.contacts, rosterItemsFetched: rosterItems, complete,
    delivered, repeats: sum(results.map((r) => r.repeats)), allPresence: sum(results.map((r) => r.allPresence)),
    seconds, serverCpuSeconds: cpu, ping,
    otherLoadCores: sampler.otherLoad(startAt, endedAt),
  };
  log(`  ${complete}/${pop.rosterUsers.length} users saw all contacts; ${delivered} presences in ${seconds.toFixed(2)} s: ${(delivered / seconds).toFixed(0)}/s`);
  await workers.all(parts.map(() => ({ op: 'close', group: 'roster' })), 60_000);
}

/**
 * Hardening: the server started with a low open-file limit, then more connections than it can
 * hold. It must shed the surplus (ideally with a stream error), keep running, and serve again
 * once connections are released.
 */
async function fdLimitPhase(run: ServerRun, setup: ServerSetup, pop: Population, s: Settings, workers: Workers): Promise<void> {
  const server = await setup.start({ fdLimit: s.fdlimit.limit });
  log(`${setup.name}: fdlimit (open-file limit ${s.fdlimit.limit}, ${s.fdlimit.connections} connections)`);
  try {
    const users = pop.plainUsers.slice(0, s.fdlimit.connections);
    const t = target(server, pop, s, 10_000);
    const opened = await workers.all<OpenResult>(workers.split(users).map((u) => ({
      op: 'open', target: t, group: 'fd', users: u, concurrency: 50, resource: 'fd', roster: false, presence: true,
    })), 5 * 60_000);
    const aliveAtLimit = isAlive(server.pid) && server.exited() === null;
    const fds = openFds(server.pid);
    const errors: Record<string, number> = {};
    for (const r of opened) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    await workers.all(workers.split(users).map(() => ({ op: 'close', group: 'fd' })), 60_000);
    await waitQuiet(server.pid, 10_000);
    await sleep(1000);
    let recovered = false;
    let recoverError = '';
    if (server.exited() === null) {
      try {
        const probe = await PingProbe.connect({
          host: t.host, port: t.port, domain: t.domain, tls: t.tls, mechanism: t.mechanism,
          username: pop.probeUser, password: pop.password, resource: 'after-fd', timeoutMs: 5000,
        });
        probe.start(100);
        await sleep(1000);
        const st = probe.stop();
        probe.close();
        recovered = st.answered > 0 && st.maxMs < 1000;
      } catch (err) {
        recoverError = (err as Error).message;
      }
    }
    run.details.fdlimit = {
      limit: s.fdlimit.limit, attempted: users.length, held: sum(opened.map((r) => r.opened)), failed: sum(opened.map((r) => r.failed)),
      errors, serverOpenFdsAtLimit: fds, aliveAtLimit, aliveAfter: server.exited() === null, recovered, recoverError,
    };
    log(`  held ${sum(opened.map((r) => r.opened))}, refused ${sum(opened.map((r) => r.failed))} ${JSON.stringify(errors)}; alive: ${aliveAtLimit}; serves again: ${recovered}`);
  } finally {
    await server.stop();
  }
}

function describeFdLimit(d: ScenarioDetails): string {
  if (typeof d.error === 'string') return `the check failed: ${d.error}`;
  const errors = Object.entries(d.errors as Record<string, number>).map(([k, v]) => `${v}x ${k}`).join('; ');
  return `limit ${String(d.limit)}, ${String(d.attempted)} connections tried: ${String(d.held)} held, ${String(d.failed)} refused (${errors || 'none'}); ` +
    `server ${d.aliveAtLimit && d.aliveAfter ? 'kept running' : 'DIED'}; ${d.recovered ? 'served a new login and ping once connections were released' : `did NOT serve again ${String(d.recoverError)}`}.`;
}

// ---- the run ------------------------------------------------------------------------------------

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`, node: process.version,
  };
}

function notes(results: ServerRun[], s: Settings, rs: Row[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    for (const key of ['chat', 'archive']) {
      const client = r.figures[`${key}.clientCpuShare`];
      if (client !== undefined && client >= 0.9) {
        out.push(`${r.name}: the load generator used ${client.toFixed(2)} of a core in the ${key} scenario: it is near saturation, ` +
          `so the server CPU seconds per 1,000 messages is the ${key} figure that counts.`);
      }
      const chat = r.details[key] as { exactlyOnce?: boolean } | undefined;
      if (chat && chat.exactlyOnce === false) out.push(`${r.name}: ${key} messages were NOT delivered exactly once (see details.${key}).`);
    }
    const check = (r.details.archive as { archiveCheck?: ArchiveCheck } | undefined)?.archiveCheck;
    if (check) out.push(`${r.name}: archive after the archive scenario: ${describeArchiveCheck(check)}.`);
    const roster = r.details.roster as { rosterItemsFetched?: number; users?: number; contacts?: number; complete?: number } | undefined;
    if (roster && roster.rosterItemsFetched !== (roster.users ?? 0) * (roster.contacts ?? 0)) {
      out.push(`${r.name}: the roster scenario fetched ${roster.rosterItemsFetched} roster items, not ${(roster.users ?? 0) * (roster.contacts ?? 0)}: check the prepared rosters.`);
    }
    if (roster && roster.complete !== roster.users) out.push(`${r.name}: only ${roster.complete} of ${roster.users} users saw all their contacts online.`);
    const idle = r.details.idle as { held?: number; target?: number } | undefined;
    if (idle && idle.held !== idle.target) out.push(`${r.name}: held ${idle.held} of ${idle.target} idle connections.`);
    if (r.crashed) out.push(`${r.name}: the run stopped early: ${r.crashed}`);
    for (const [scenario, d] of Object.entries(r.details)) {
      const other = (d as { otherLoadCores?: number }).otherLoadCores;
      if (other !== undefined && other > 0.1) {
        out.push(`${r.name}: other processes kept ${other.toFixed(2)} cores busy during ${scenario}: rates are lowered; CPU per operation is the figure to trust.`);
      }
    }
    const ping = [r.figures['idle.pingMaxMs'], r.figures['chat.pingMaxMs'], r.figures['roster.pingMaxMs'], r.figures['archive.pingMaxMs']].filter((x) => x !== undefined) as number[];
    if (ping.length > 0) out.push(`${r.name}: probe ping under load, worst ${Math.max(...ping).toFixed(0)} ms (${Math.max(...ping) < 1000 ? 'within' : 'NOT within'} 1 s).`);
    const drift = r.figures['chat.rssDrift'];
    if (drift !== undefined) {
      const series = (r.details.chat as { rssSeriesMiB?: number[] }).rssSeriesMiB ?? [];
      out.push(`${r.name}: RSS at the end of chat is ${(drift * 100).toFixed(1)}% of RSS after warm-up (${Math.abs(drift - 1) <= 0.1 ? 'within' : 'NOT within'} 10%` +
        `${s.chat.seconds < 300 ? '; a leak check wants --chat-seconds 300' : ''}); MiB across the window: ${series.join(', ')}.`);
    }
  }
  const parley = results.find((r) => r.name === 'parley');
  const on = parley?.figures['archive.perSecond'];
  const off = parley?.figures['chat.perSecond'];
  if (on !== undefined && off !== undefined) {
    out.push(`parley: with the fail-closed archive on, ${(on / off).toFixed(2)}x the messages per second of archive-off ` +
      `(budget >= 0.5x: ${on / off >= 0.5 ? 'met' : 'MISSED'}).`);
  }
  const missed = rs.filter((r) => r.met === false).map((r) => r.figure.label);
  if (missed.length > 0) out.push(`Budgets missed: ${missed.join('; ')}.`);
  if (s.mode === 'quick') out.push('Quick mode: small sizes for development; quote the full run.');
  return out;
}

async function main(): Promise<number> {
  const s = parseSettings(process.argv.slice(2));
  const started = Date.now();
  // Every run stops by itself: a watchdog ends it whatever happens (servers are our children).
  const budgetMs = s.mode === 'quick' ? 5 * 60_000 : 20 * 60_000;
  const chats = s.scenarios.filter((x) => x === 'chat' || x === 'archive').length;
  const extra = chats * (s.chat.seconds + s.chat.warmupSeconds) * 1000 * s.servers.length;
  const watchdog = setTimeout(() => { log('watchdog: the run took too long; stopping'); process.exit(3); }, budgetMs + extra);
  watchdog.unref();

  const nofile = Number(fs.readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+(\d+)/)?.[1] ?? 0);
  const needed = Math.max(s.idle.connections, s.login.concurrency, s.chat.pairs * 2, s.roster.users) + 200;
  if (s.scenarios.includes('idle') && nofile < needed) {
    log(`the open-file limit is ${nofile}; ${needed} are needed. Run through bench/run.sh (it raises the limit) or lower --idle-connections.`);
    return 2;
  }

  const setups: ServerSetup[] = [];
  for (const name of s.servers) {
    if (name === 'parley') setups.push(parleySetup());
    else {
      const version = prosodyVersion();
      if (!version) {
        log('Prosody is not installed: apt-get install prosody (see bench/README.md), or run with --only parley.');
        return 2;
      }
      setups.push(prosodySetup(version, { networkSettings: s.prosodyNet, without: s.prosodyWithout }));
    }
  }

  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-'));
  const pop = makePopulation({
    plain: Math.max(s.login.users, s.idle.connections, s.chat.pairs * 2, s.fdlimit.connections),
    roster: s.scenarios.includes('roster') ? s.roster.users : 0,
    contacts: s.roster.contacts,
    iterations: s.iterations,
  });
  log(`mode ${s.mode}; servers ${s.servers.join(', ')}; scenarios ${s.scenarios.join(', ')}; ${s.workers} worker(s); data in ${workdir}`);
  const cert = writeCertificate(path.join(workdir, 'certs'), pop.domain);
  for (const setup of setups) await setup.prepare(path.join(workdir, setup.name), pop, cert);
  log(`prepared ${pop.plainUsers.length + pop.rosterUsers.length + 1} accounts and ${pop.rosterUsers.length} rosters on each server`);

  const workers = new Workers(s.workers);
  const results: ServerRun[] = [];
  try {
    for (const setup of setups) results.push(await runServer(setup, pop, s, workers));
  } finally {
    await workers.close();
    if (!s.keep) fs.rmSync(workdir, { recursive: true, force: true });
  }

  const parley = results.find((r) => r.name === 'parley');
  const prosody = results.find((r) => r.name === 'prosody');
  const rs = rows(parley?.figures, prosody?.figures);
  const text = table(rs);
  const archiveText = archiveTable(results.map((r) => ({ name: r.name, figures: r.figures })));
  const noteLines = notes(results, s, rs);
  const date = new Date().toISOString();
  const mach = machine();
  const summary = [
    `Parley vs Prosody, ${s.mode} run, ${date}`,
    `machine: ${String(mach.cpu)}, ${String(mach.cores)} cores, ${String(mach.memoryGiB)} GiB, ${String(mach.kernel)}, Node ${process.version}`,
    ...results.map((r) => `${r.name}: ${r.version}; TLS ${r.tls ? `${r.tls.protocol} ${r.tls.cipher} ${r.tls.group}` : '?'}` +
      (r.name === 'prosody' ? `; network_settings ${JSON.stringify(s.prosodyNet)}; mod_limits off` +
        (s.prosodyWithout.length > 0 ? `; WITHOUT ${s.prosodyWithout.join(', ')}` : '') +
        (s.scenarios.includes('archive') ? '; archive scenario: + mod_mam, storage internal' : '')
        : `; ${parleyModules(false).length} modules (the defaults without archive, mam)` +
          (s.scenarios.includes('archive') ? '; archive scenario: + archive (defaults: fail_closed, synchronous=FULL, writer-thread group commit), mam' : ''))),
    `settings: ${s.tls.toUpperCase()} + ${s.mechanism} (${s.iterations} iterations); login ${s.login.users} users, concurrency ${s.login.concurrency}; ` +
      `idle ${s.idle.connections}; chat ${s.chat.pairs} pairs, window ${s.chat.window}, ${s.chat.seconds} s (+${s.chat.warmupSeconds} s warm-up), ${s.chat.bodyBytes}-byte bodies; ` +
      `roster ${s.roster.users} users x ${s.roster.contacts} contacts; ${s.workers} load worker(s)`,
    '',
    text,
    ...(archiveText ? ['', 'Archive on / off (scenario 5 against scenario 3, each server against itself):', '', archiveText] : []),
    '',
    ...noteLines.map((n) => `- ${n}`),
    ...results.filter((r) => r.details.fdlimit).map((r) => `- ${r.name} at the open-file limit: ${describeFdLimit(r.details.fdlimit!)}`),
  ].join('\n');
  console.log(`\n${summary}\n`);
  for (const r of results) {
    if (r.logWarnings.length > 0) console.log(`${r.name} logged at warn or above:\n  ${r.logWarnings.join('\n  ')}`);
    if (r.details.fdlimit) console.log(`${r.name} fd limit: ${JSON.stringify(r.details.fdlimit)}`);
  }
  fs.mkdirSync(path.dirname(s.out), { recursive: true });
  fs.writeFileSync(s.out, JSON.stringify({
    date, machine: mach, settings: s, servers: results,
    table: rs.map((r) => ({ id: r.figure.id, label: r.figure.label, unit: r.figure.unit, parley: r.parley, prosody: r.prosody, ratio: r.ratio, budget: r.figure.budget?.text, met: r.met })),
    notes: noteLines, elapsedSeconds: (Date.now() - started) / 1000,
  }, null, 2));
  fs.writeFileSync(s.out.replace(/\.json$/, '') + '.md', summary + '\n');
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; results in ${s.out}${s.keep ? `; data kept in ${workdir}` : ''}`);
  return results.some((r) => r.crashed) ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (err: Error) => { log(err.stack ?? err.message); process.exitCode = 1; });
