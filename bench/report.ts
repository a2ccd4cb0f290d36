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

/** A Markdown table (readable as plain text too). */
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
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...lines.map(line)].join('\n');
}
