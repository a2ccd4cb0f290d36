/**
 * Where a server's CPU time goes, from a V8 CPU profile (`node --cpu-prof`, or `bench/run.sh
 * --profile DIR`): self time grouped into the pipeline's parts (parser, TLS, serialization,
 * routing, storage …) and the hottest functions.
 *
 *   node dist/bench/profile-summary.js DIR/CPU.*.cpuprofile [--top 30]
 */
import fs from 'node:fs';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

/** First match wins: more specific paths before general ones. */
const PARTS: [string, (f: CallFrame) => boolean][] = [
  ['idle (waiting for I/O)', (f) => f.functionName === '(idle)'],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['native, outside JS (TLS record crypto, syscalls)', (f) => f.functionName === '(program)'],
  ['XML parser (server/xml/parser)', (f) => f.url.includes('/server/xml/parser')],
  ['JID preparation (server/xml/jid)', (f) => f.url.includes('/server/xml/jid')],
  ['serialization and element trees (ltx, @xmpp/xml)', (f) => /node_modules\/(ltx|@xmpp\/xml)\//.test(f.url)],
  ['TLS (node:tls, node:_tls_wrap)', (f) => /node:(_tls|tls|internal\/tls)/.test(f.url) || /^(TLSWrap|SecureContext)/.test(f.functionName)],
  ['socket writes and reads (node:net, streams)', (f) => /node:(net|internal\/stream_base_commons|internal\/streams|stream|buffer|internal\/buffer|string_decoder)/.test(f.url) || ['writeUtf8String', 'writeBuffer', 'writev', 'readStart', 'readStop', 'shutdown'].includes(f.functionName)],
  ['storage (better-sqlite3, server/storage)', (f) => f.url.includes('better-sqlite3') || f.url.includes('/server/storage/') || ['get', 'all', 'run', 'iterate'].includes(f.functionName) && f.url === ''],
  ['logging (pino)', (f) => f.url.includes('node_modules/pino') || f.url.includes('/server/logger') || f.url.includes('sonic-boom')],
  ['SASL and crypto (server/sasl, node:crypto)', (f) => f.url.includes('/server/sasl/') || /node:(crypto|internal\/crypto)/.test(f.url)],
  ['routing and delivery (server/router)', (f) => f.url.includes('/server/router/')],
  ['stream and session (server/stream, server/session, server/net)', (f) => /\/server\/(stream|session|net)\//.test(f.url)],
  ['hooks and module host (server/host, server/api)', (f) => /\/server\/(host|api)\//.test(f.url)],
  ['modules (modules/*)', (f) => f.url.includes('/modules/')],
  ['timers, promises, event loop (node internals)', (f) => f.url.startsWith('node:')],
  ['other', () => true],
];

function partOf(f: CallFrame): string {
  for (const [name, test] of PARTS) if (test(f)) return name;
  return 'other';
}

interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  parts: { part: string; ms: number; shareOfBusy: number }[];
  top: { fn: string; where: string; part: string; ms: number; shareOfBusy: number }[];
}

function summarize(profile: CpuProfile, topN = 30): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const parts = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; part: string; us: number }>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const part = partOf(f);
    total += us;
    if (f.functionName === '(idle)') idle += us;
    parts.set(part, (parts.get(part) ?? 0) + us);
    const where = f.url ? `${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '(native)';
    const key = `${f.functionName}|${where}`;
    const entry = fns.get(key) ?? { fn: f.functionName || '(anonymous)', where, part, us: 0 };
    entry.us += us;
    fns.set(key, entry);
  }
  const busy = total - idle;
  return {
    totalMs: total / 1000,
    busyMs: busy / 1000,
    parts: [...parts.entries()].filter(([p]) => !p.startsWith('idle')).sort((a, b) => b[1] - a[1])
      .map(([part, us]) => ({ part, ms: us / 1000, shareOfBusy: us / busy })),
    top: [...fns.values()].filter((e) => e.fn !== '(idle)').sort((a, b) => b.us - a.us).slice(0, topN)
      .map((e) => ({ fn: e.fn, where: e.where, part: e.part, ms: e.us / 1000, shareOfBusy: e.us / busy })),
  };
}

function main(): void {
  const args = process.argv.slice(2);
  const topIdx = args.indexOf('--top');
  const topN = topIdx >= 0 ? Number(args[topIdx + 1]) : 30;
  const files = args.filter((a, i) => !a.startsWith('--') && (topIdx < 0 || i !== topIdx + 1));
  if (files.length === 0) {
    console.error('usage: node dist/bench/profile-summary.js FILE.cpuprofile [--top N]');
    process.exitCode = 2;
    return;
  }
  for (const file of files) {
    const s = summarize(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile, topN);
    console.log(`${file}: ${(s.totalMs / 1000).toFixed(1)} s profiled, ${(s.busyMs / 1000).toFixed(1)} s busy\n`);
    console.log('share of busy time by part:');
    for (const p of s.parts) console.log(`  ${(p.shareOfBusy * 100).toFixed(1).padStart(5)}%  ${(p.ms / 1000).toFixed(2).padStart(7)} s  ${p.part}`);
    console.log(`\nhottest functions (self time):`);
    for (const t of s.top) console.log(`  ${(t.shareOfBusy * 100).toFixed(1).padStart(5)}%  ${t.fn}  ${t.where}  [${t.part}]`);
    console.log('');
  }
}

main();
