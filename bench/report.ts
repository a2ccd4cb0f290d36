/**
 * The benchmark's output: one table with both servers' figures side by side, the ratio
 * Parley / Prosody for each, and the budgets of issue 7 checked against the ratios.
 */

export type Better = 'higher' | 'lower';

export interface Figure {
  id: string;
  label: string;
  unit: string;
  better: Better;
  /** Budget on the ratio Parley / Prosody, if the issue sets one. */
  budget?: { op: '>=' | '<='; ratio: number; text: string };
  /** Digits after the decimal point in the table. */
  digits: number;
}

/** Every figure the run can produce, in table order. */
export const FIGURES: Figure[] = [
  { id: 'login.perSecond', label: 'login: logins per second', unit: '/s', better: 'higher', digits: 0, budget: { op: '>=', ratio: 1, text: '>= 1x Prosody' } },
  { id: 'login.toBoundP50', label: 'login: time to bound, p50', unit: 'ms', better: 'lower', digits: 1 },
  { id: 'login.toBoundP99', label: 'login: time to bound, p99', unit: 'ms', better: 'lower', digits: 1 },
  { id: 'login.cpuMsPerLogin', label: 'login: server CPU per login', unit: 'ms', better: 'lower', digits: 2 },
  { id: 'login.serverCpuShare', label: 'login: server CPU use (1.0 = one core)', unit: '', better: 'lower', digits: 2 },
  { id: 'login.clientCpuShare', label: 'login: load generator CPU use (1.0 = one core)', unit: '', better: 'lower', digits: 2 },
  { id: 'idle.held', label: 'idle: connections held', unit: '', better: 'higher', digits: 0 },
  { id: 'idle.kbPerConnection', label: 'idle: server RSS per connection', unit: 'KiB', better: 'lower', digits: 1, budget: { op: '<=', ratio: 1, text: '<= 1x Prosody' } },
  { id: 'idle.pingMaxMs', label: 'idle: probe ping, max', unit: 'ms', better: 'lower', digits: 1 },
  { id: 'chat.perSecond', label: 'chat: delivered messages per second', unit: '/s', better: 'higher', digits: 0, budget: { op: '>=', ratio: 2, text: '>= 2x Prosody' } },
  { id: 'chat.latencyP50', label: 'chat: latency p50', unit: 'ms', better: 'lower', digits: 2 },
  { id: 'chat.latencyP99', label: 'chat: latency p99', unit: 'ms', better: 'lower', digits: 2, budget: { op: '<=', ratio: 1, text: '<= 1x Prosody' } },
  { id: 'chat.cpuPer1000', label: 'chat: server CPU seconds per 1,000 messages', unit: 's', better: 'lower', digits: 4, budget: { op: '<=', ratio: 0.5, text: '<= 0.5x Prosody' } },
  { id: 'chat.serverCpuShare', label: 'chat: server CPU use (1.0 = one core)', unit: '', better: 'lower', digits: 2 },
  { id: 'chat.clientCpuShare', label: 'chat: load generator CPU use (1.0 = one core)', unit: '', better: 'lower', digits: 2 },
  { id: 'chat.rssDrift', label: 'chat: server RSS end / after warm-up', unit: '', better: 'lower', digits: 3 },
  { id: 'chat.pingMaxMs', label: 'chat: probe ping, max', unit: 'ms', better: 'lower', digits: 1 },
  { id: 'roster.perSecond', label: 'roster: presence stanzas delivered per second', unit: '/s', better: 'higher', digits: 0 },
  { id: 'roster.cpuPer1000', label: 'roster: server CPU seconds per 1,000 presences', unit: 's', better: 'lower', digits: 4 },
  { id: 'roster.seconds', label: 'roster: time until every user saw every contact', unit: 's', better: 'lower', digits: 2 },
  { id: 'roster.pingMaxMs', label: 'roster: probe ping, max', unit: 'ms', better: 'lower', digits: 1 },
  // Scenario 5: chat again with archiving on (Parley: archive + mam; Prosody: mod_mam). No budget
  // against Prosody; the budget is Parley against itself (see archiveTable).
  { id: 'archive.perSecond', label: 'archive on: chat delivered messages per second', unit: '/s', better: 'higher', digits: 0 },
  { id: 'archive.latencyP50', label: 'archive on: chat latency p50', unit: 'ms', better: 'lower', digits: 2 },
  { id: 'archive.latencyP99', label: 'archive on: chat latency p99', unit: 'ms', better: 'lower', digits: 2 },
  { id: 'archive.cpuPer1000', label: 'archive on: server CPU seconds per 1,000 messages', unit: 's', better: 'lower', digits: 4 },
  { id: 'archive.serverCpuShare', label: 'archive on: server CPU use (1.0 = one core)', unit: '', better: 'lower', digits: 2 },
  { id: 'archive.clientCpuShare', label: 'archive on: load generator CPU use (1.0 = one core)', unit: '', better: 'lower', digits: 2 },
  { id: 'archive.rssDrift', label: 'archive on: server RSS end / after warm-up', unit: '', better: 'lower', digits: 3 },
  { id: 'archive.pingMaxMs', label: 'archive on: probe ping, max', unit: 'ms', better: 'lower', digits: 1 },
];

export type FigureValues = Record<string, number>;

function fmt(v: number | undefined, digits: number): string {
  if (v === undefined || Number.isNaN(v)) return '–';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export interface Row {
  figure: Figure;
  parley?: number;
  prosody?: number;
  ratio?: number;
  /** Whether the budget is met, when the figure has one and both values exist. */
  met?: boolean;
}

export function rows(parley: FigureValues | undefined, prosody: FigureValues | undefined): Row[] {
  const out: Row[] = [];
  for (const figure of FIGURES) {
    const a = parley?.[figure.id];
    const b = prosody?.[figure.id];
    if (a === undefined && b === undefined) continue;
    const ratio = a !== undefined && b !== undefined && b !== 0 ? a / b : undefined;
    const met = figure.budget && ratio !== undefined
      ? (figure.budget.op === '>=' ? ratio >= figure.budget.ratio : ratio <= figure.budget.ratio)
      : undefined;
    out.push({ figure, parley: a, prosody: b, ratio, met });
  }
  return out;
}

/** A Markdown table with padded columns (readable as plain text too). */
function markdownTable(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...lines.map(line)].join('\n');
}

/** Parley against Prosody, figure by figure, with the budgets. */
export function table(rs: Row[]): string {
  const header = ['figure', 'unit', 'Parley', 'Prosody', 'Parley / Prosody', 'budget'];
  const lines = rs.map((r) => [
    r.figure.label,
    r.figure.unit,
    fmt(r.parley, r.figure.digits),
    fmt(r.prosody, r.figure.digits),
    r.ratio === undefined ? '–' : `${fmt(r.ratio, 2)}${r.figure.better === 'higher' ? ' (higher is better)' : ' (lower is better)'}`,
    r.figure.budget ? `${r.figure.budget.text}: ${r.met === undefined ? '–' : r.met ? 'met' : 'MISSED'}` : '',
  ]);
  return markdownTable(header, lines);
}

/** Scenario 5 against scenario 3, per server: what turning the archive on costs each. */
const ARCHIVE_PAIRS: { label: string; off: string; on: string; digits: number; budget?: number }[] = [
  // Issue: with the fail-closed archive on, at least half the messages per second of archive-off.
  { label: 'chat delivered messages per second', off: 'chat.perSecond', on: 'archive.perSecond', digits: 0, budget: 0.5 },
  { label: 'chat latency p99, ms', off: 'chat.latencyP99', on: 'archive.latencyP99', digits: 2 },
  { label: 'server CPU seconds per 1,000 messages', off: 'chat.cpuPer1000', on: 'archive.cpuPer1000', digits: 4 },
  { label: 'server CPU use (1.0 = one core)', off: 'chat.serverCpuShare', on: 'archive.serverCpuShare', digits: 2 },
  { label: 'load generator CPU use (1.0 = one core)', off: 'chat.clientCpuShare', on: 'archive.clientCpuShare', digits: 2 },
];

/**
 * Per server: archive off (scenario 3), archive on (scenario 5) and on / off; the budget of the
 * archive issue applies to Parley's messages per second. Empty when no server ran both.
 */
export function archiveTable(servers: { name: string; figures: FigureValues }[]): string {
  const both = servers.filter((r) => r.figures['chat.perSecond'] !== undefined && r.figures['archive.perSecond'] !== undefined);
  if (both.length === 0) return '';
  const header = ['figure', 'server', 'archive off', 'archive on', 'on / off', 'budget'];
  const lines: string[][] = [];
  for (const pair of ARCHIVE_PAIRS) {
    for (const r of both) {
      const off = r.figures[pair.off];
      const on = r.figures[pair.on];
      const ratio = off !== undefined && on !== undefined && off !== 0 ? on / off : undefined;
      const budget = pair.budget !== undefined && r.name === 'parley'
        ? `>= ${pair.budget}x archive off: ${ratio === undefined ? '–' : ratio >= pair.budget ? 'met' : 'MISSED'}` : '';
      lines.push([pair.label, r.name, fmt(off, pair.digits), fmt(on, pair.digits), ratio === undefined ? '–' : fmt(ratio, 2), budget]);
    }
  }
  return markdownTable(header, lines);
}
