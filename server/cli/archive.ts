import os from 'node:os';
import type { LoadedConfig } from '../config/load.js';
import { createLogger } from '../logger.js';
import { ParleyServer } from '../server.js';
import { Jid } from '../xml/jid.js';
import { readPassword } from './password.js';

export const ARCHIVE_USAGE = `  archive verify                 check every record, the chain, signed checkpoints, segments and the access log
  archive search --as JID        search the archive (compliance role); filters below; prints JSON Lines
  archive export --as JID --out DIR   export a search as JSON Lines + e-mail files + manifest
  archive hold place --as JID --name CASE --jid JID [--jid JID ...] [--from T] [--to T] [--reason TEXT]
  archive hold release --as JID <hold id>
  archive hold list --as JID [--all]
  archive seal [--before DAY]    seal closed days into signed segment files
  archive purge                  remove what retention allows now (never what a hold covers)`;

export const ARCHIVE_FILTERS = `Archive filters (search, export):
  --with JID                     a participant (repeat for any of several)
  --room JID                     group chat in this room
  --from T / --to T              time range (ISO 8601, e.g. 2026-11-01 or 2026-11-01T09:00:00Z)
  --keywords TEXT                full-text query over bodies and subjects
  --direction D                  internal, external or partner
  --limit N                      most records (default 1000 for search)
  --as JID                       the compliance officer acting; asks for their password
                                 (or --password-file / --password-stdin)`;

export const ARCHIVE_OPTIONS = {
  as: { type: 'string' }, with: { type: 'string', multiple: true }, room: { type: 'string' },
  from: { type: 'string' }, to: { type: 'string' }, keywords: { type: 'string' }, direction: { type: 'string' },
  limit: { type: 'string' }, name: { type: 'string' }, jid: { type: 'string', multiple: true }, reason: { type: 'string' },
  before: { type: 'string' }, all: { type: 'boolean' },
} as const;

/** What the CLI uses of the archive module's compliance service (the core does not import modules). */
interface ComplianceControl {
  search(actor: string, q: object): { records: unknown[]; truncated: boolean };
  export(actor: string, q: object, dir: string): Promise<{ dir: string; records: number; files: { file: string; sha256: string }[] }>;
  placeHold(actor: string, hold: object): { id: string };
  releaseHold(actor: string, id: string): unknown;
  holds(actor: string, includeReleased?: boolean): unknown[];
  verify(actor: string): { ok: boolean; records: number; checkpoints: number; segments: number; accessEntries: number; problems: { kind: string; seq?: number; message: string }[] };
  seal(actor: string, opts?: { before?: string }): Promise<string[]>;
  purge(actor: string, opts?: object): Promise<{ days: string[]; count: number; held: string[] }>;
}

type Values = Record<string, unknown>;

/** A time option: ISO 8601 date or date-time, to ms since the epoch. */
function time(value: unknown, name: string, endOfDay: boolean): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T${endOfDay ? '23:59:59.999' : '00:00:00.000'}Z` : text);
  if (Number.isNaN(ms)) throw new UsageError(`--${name}: not a date or time: ${text}`);
  return ms;
}

class UsageError extends Error {}

function query(v: Values): object {
  const q: Record<string, unknown> = {};
  if (v.with) q.participants = (v.with as string[]).map((j) => Jid.parse(j).bare);
  if (v.room) q.room = Jid.parse(String(v.room)).bare;
  const start = time(v.from, 'from', false);
  const end = time(v.to, 'to', true);
  if (start !== undefined) q.start = start;
  if (end !== undefined) q.end = end;
  if (v.keywords) q.keywords = String(v.keywords);
  if (v.direction) {
    if (!['internal', 'external', 'partner'].includes(String(v.direction))) throw new UsageError('--direction: internal, external or partner');
    q.direction = String(v.direction);
  }
  if (v.limit) {
    const n = Number(v.limit);
    if (!Number.isInteger(n) || n < 1) throw new UsageError('--limit: a positive whole number');
    q.limit = n;
  }
  return q;
}

/**
 * The acting compliance officer: the account named by --as, whose password is checked with the
 * same providers as a client login (the directory too). Without it, the OS user acts (verify,
 * seal and purge reveal no content).
 */
async function actor(server: ParleyServer, v: Values, required: boolean): Promise<string> {
  if (!v.as) {
    if (required) throw new UsageError('this command reads the archive: name the compliance officer with --as JID');
    return `os:${os.userInfo().username}`;
  }
  const jid = Jid.parse(String(v.as)).bareJid();
  const password = await readPassword({ file: v['password-file'] as string | undefined, stdin: v['password-stdin'] === true, prompt: `Password for ${jid.bare}: `, confirm: false });
  const answer = await server.accountsApi.verifyPassword(jid, password);
  if (answer !== 'ok') throw new UsageError(`${jid.bare}: authentication failed`);
  return jid.bare;
}

/**
 * `parley archive ...` runs in a process of its own on the same configuration: it loads the
 * modules (no listeners), calls the compliance service, and stops. Every search, export and
 * hold is written to the archive's access log, refusals included.
 */
export async function archiveCommand(config: LoadedConfig, sub: string | undefined, args: string[], v: Values): Promise<number> {
  if (!('archive' in config.core.modules)) {
    console.error(`parley archive: the archive module is not enabled in ${config.file ?? 'the configuration'}`);
    return 2;
  }
  const server = new ParleyServer(config, createLogger({ level: 'warn', format: 'pretty' }));
  try {
    await server.loadModules();
    const c = server.host.service('compliance') as ComplianceControl | undefined;
    if (!c) throw new Error('the archive module did not provide its compliance service');
    switch (sub) {
      case 'verify': {
        const report = c.verify(await actor(server, v, false));
        for (const p of report.problems) console.log(`${p.kind}${p.seq !== undefined ? ` at record ${p.seq}` : ''}: ${p.message}`);
        console.log(`${report.ok ? 'OK' : 'FAILED'}: ${report.records} records, ${report.checkpoints} checkpoints, ${report.segments} segments, ${report.accessEntries} access log entries, ${report.problems.length} problems`);
        return report.ok ? 0 : 1;
      }
      case 'search': {
        const { records, truncated } = c.search(await actor(server, v, true), query(v));
        for (const r of records) console.log(JSON.stringify(r));
        console.error(`${records.length} records${truncated ? ' (more match: narrow the query or raise --limit)' : ''}`);
        return 0;
      }
      case 'export': {
        if (!v.out) throw new UsageError('parley archive export: give the folder with --out DIR');
        const result = await c.export(await actor(server, v, true), query(v), String(v.out));
        console.log(`exported ${result.records} records into ${result.dir} (${result.files.length} files; manifest.json lists their SHA-256)`);
        return 0;
      }
      case 'hold': return await holdCommand(server, c, args, v);
      case 'seal': {
        const days = await c.seal(await actor(server, v, false), v.before ? { before: String(v.before) } : {});
        console.log(days.length ? `sealed ${days.join(', ')}` : 'nothing to seal');
        return 0;
      }
      case 'purge': {
        const r = await c.purge(await actor(server, v, false));
        console.log(`purged ${r.count} records of ${r.days.length} days${r.held.length ? `; kept by legal hold: ${r.held.join(', ')}` : ''}`);
        return 0;
      }
      default:
        console.error('parley archive: expected verify, search, export, hold, seal or purge');
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError || ['HoldError', 'SearchQueryError', 'ExportError'].includes((err as Error).name)) { console.error(`parley archive: ${(err as Error).message}`); return 2; }
    if ((err as Error).name === 'AccessRefused') { console.error(`parley archive: ${(err as Error).message}`); return 3; }
    throw err;
  } finally {
    await server.stop();
  }
}

async function holdCommand(server: ParleyServer, c: ComplianceControl, args: string[], v: Values): Promise<number> {
  const [what, id] = args;
  switch (what) {
    case 'place': {
      if (!v.name || !v.jid) throw new UsageError('parley archive hold place: give --name CASE and at least one --jid');
      const hold: Record<string, unknown> = { name: String(v.name), jids: (v.jid as string[]).map((j) => Jid.parse(j).bare) };
      const start = time(v.from, 'from', false);
      const end = time(v.to, 'to', true);
      if (start !== undefined) hold.start = start;
      if (end !== undefined) hold.end = end;
      if (v.reason) hold.reason = String(v.reason);
      const placed = c.placeHold(await actor(server, v, true), hold);
      console.log(`hold ${placed.id} placed`);
      return 0;
    }
    case 'release': {
      if (!id) throw new UsageError('parley archive hold release: give the hold id');
      c.releaseHold(await actor(server, v, true), id);
      console.log(`hold ${id} released`);
      return 0;
    }
    case 'list':
      for (const h of c.holds(await actor(server, v, true), v.all === true)) console.log(JSON.stringify(h));
      return 0;
    default:
      throw new UsageError('parley archive hold: expected place, release or list');
  }
}
