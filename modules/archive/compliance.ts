import os from 'node:os';
import type { KeyObject } from 'node:crypto';
import type { ModuleContext } from '../../server/api/index.js';
import { ExportError, exportRecords } from './export.js';
import { listHolds, placeHold, releaseHold } from './holds.js';
import { dayOf, type ArchiveRecord } from './record.js';
import type { Housekeeper } from './housekeeper.js';
import { verifySegments } from './seal.js';
import { MAX_SEARCH_LIMIT, searchRecords } from './search.js';
import type { ArchiveStore } from './store.js';
import { verifyArchive } from './verify.js';
import {
  AccessRefused, type Actor, type ComplianceService, type ExportResult, type Hold, type SearchQuery, type VerifyReport,
} from './service.js';

/** Records a search returns when the query names no limit. */
const DEFAULT_SEARCH_LIMIT = 1000;

export interface ComplianceDeps {
  store: ArchiveStore;
  /** Sealing and purging run in their own thread. */
  housekeeper: Housekeeper;
  publicKey: KeyObject;
  checkpointFile: string;
  segmentsDir: string;
  /** Bare JIDs in the compliance role. */
  readers: readonly string[];
  /** Directory groups in the compliance role. */
  groups: readonly string[];
  directory: { isInGroup(bare: string, group: string): boolean } | undefined;
  domain: string;
  log: ModuleContext['log'];
  /** Sign a checkpoint after the chain grew outside the writer (seal, purge). */
  afterWrite(): void;
}

/** The operator of the CLI when no account is named: `os:<login>`. */
export function operatorActor(): Actor {
  return `os:${os.userInfo().username}`;
}

/**
 * The compliance functions behind `parley archive ...` (and later the admin API): the role check
 * and the access log come first, so that a refusal is recorded as surely as a search.
 */
export class ArchiveCompliance implements ComplianceService {
  private readonly readers: Set<string>;

  constructor(private readonly d: ComplianceDeps) {
    this.readers = new Set(d.readers.map((r) => r.toLowerCase()));
  }

  mayRead(actor: Actor): boolean {
    const bare = actor.toLowerCase();
    if (this.readers.has(bare)) return true;
    return this.d.groups.some((g) => this.d.directory?.isInGroup(bare, g) ?? false);
  }

  search(actor: Actor, q: SearchQuery): { records: ArchiveRecord[]; truncated: boolean } {
    this.authorize(actor, 'search', q);
    const limit = q.limit ?? DEFAULT_SEARCH_LIMIT;
    this.d.store.indexPending();
    const found = this.logged(actor, 'search', q, () => searchRecords(this.d.store.db, { ...q, limit: Math.min(limit + 1, MAX_SEARCH_LIMIT) }));
    const truncated = found.length > limit;
    const records = truncated ? found.slice(0, limit) : found;
    this.d.store.logAccess({ actor, action: 'search', params: q, result: 'allowed', detail: { records: records.length, truncated } });
    return { records, truncated };
  }

  async export(actor: Actor, q: SearchQuery, dir: string): Promise<ExportResult> {
    const params = { ...q, dir };
    this.authorize(actor, 'export', params);
    const limit = Math.min(q.limit ?? MAX_SEARCH_LIMIT, MAX_SEARCH_LIMIT);
    const result = await this.logged(actor, 'export', params, async () => {
      this.d.store.indexPending();
      const records = searchRecords(this.d.store.db, { ...q, limit: Math.min(limit + 1, MAX_SEARCH_LIMIT) });
      if (records.length > limit || records.length === MAX_SEARCH_LIMIT) {
        throw new ExportError(`more than ${limit} records match: narrow the query (time range, participants) or export it in parts`);
      }
      return exportRecords(records, dir, { actor, query: q, domain: this.d.domain });
    });
    this.d.store.logAccess({ actor, action: 'export', params, result: 'allowed', detail: { records: result.records, files: result.files.length, manifest: result.manifest } });
    return result;
  }

  placeHold(actor: Actor, hold: { name: string; jids: string[]; start?: number; end?: number; reason?: string }): Hold {
    this.authorize(actor, 'hold', hold);
    const placed = this.logged(actor, 'hold', hold, () => placeHold(this.d.store, { ...hold, placedBy: actor }));
    this.d.store.logAccess({ actor, action: 'hold', params: hold, result: 'allowed', detail: { id: placed.id } });
    this.d.log.info({ actor, hold: placed.id, name: placed.name }, 'legal hold placed');
    return placed;
  }

  releaseHold(actor: Actor, id: string): Hold {
    this.authorize(actor, 'release', { id });
    const released = this.logged(actor, 'release', { id }, () => releaseHold(this.d.store, id, actor));
    this.d.store.logAccess({ actor, action: 'release', params: { id }, result: 'allowed', detail: { name: released.name } });
    this.d.log.info({ actor, hold: id, name: released.name }, 'legal hold released');
    return released;
  }

  holds(actor: Actor, includeReleased = false): Hold[] {
    this.authorize(actor, 'holds', { includeReleased });
    const list = listHolds(this.d.store, { includeReleased });
    this.d.store.logAccess({ actor, action: 'holds', params: { includeReleased }, result: 'allowed', detail: { holds: list.length } });
    return list;
  }

  /** Verification reveals no content: any operator may run it; it is logged all the same. */
  verify(actor: Actor): VerifyReport {
    const segmentProblems = verifySegments(this.d.store, this.d.publicKey, this.d.segmentsDir);
    const report = verifyArchive(this.d.store, this.d.publicKey, this.d.checkpointFile, segmentProblems);
    const segments = (this.d.store.db.prepare('SELECT COUNT(*) AS n FROM segments').get() as { n: number }).n;
    const full = { ...report, segments };
    this.d.store.logAccess({ actor, action: 'verify', params: {}, result: 'allowed', detail: { ok: report.ok, records: report.records, problems: report.problems.length } });
    return full;
  }

  async seal(actor: Actor, opts: { before?: string } = {}): Promise<string[]> {
    const before = opts.before ?? dayOf(Date.now());
    const days = await this.logged(actor, 'seal', { before }, () => this.d.housekeeper.seal(before));
    if (days.length > 0) {
      this.d.store.logAccess({ actor, action: 'seal', params: { before }, result: 'allowed', detail: { days } });
      this.d.log.info({ days }, 'archive days sealed');
      this.d.afterWrite();
    }
    return days;
  }

  async purge(actor: Actor, opts: { today?: string; requireSealed?: boolean } = {}): Promise<{ days: string[]; count: number; held: string[] }> {
    const today = opts.today ?? dayOf(Date.now());
    const result = await this.logged(actor, 'purge', { today }, () => this.d.housekeeper.purge(today, opts.requireSealed ?? false));
    if (result.count > 0 || result.held.length > 0) {
      this.d.store.logAccess({ actor, action: 'purge', params: { today }, result: 'allowed', detail: result });
      this.d.log.info(result, 'expired archive records purged');
      this.d.afterWrite();
    }
    return result;
  }

  /** Run an operation; if it fails, the failure is written to the access log before it is thrown on. */
  private logged<T>(actor: Actor, action: string, params: unknown, fn: () => T): T {
    const failed = (err: unknown) => {
      this.d.store.logAccess({ actor, action, params, result: 'failed', detail: { error: (err as Error).message } });
      return err;
    };
    let r: T;
    try {
      r = fn();
    } catch (err) {
      throw failed(err);
    }
    if (r instanceof Promise) return r.catch((err: unknown) => { throw failed(err); }) as T;
    return r;
  }

  /** Refuse (and record the refusal) unless the actor is in the compliance role. */
  private authorize(actor: Actor, action: string, params: unknown): void {
    if (this.mayRead(actor)) return;
    this.d.store.logAccess({ actor, action, params, result: 'refused', detail: { reason: 'not in the compliance role' } });
    this.d.log.warn({ actor, action }, 'archive access refused: not in the compliance role');
    throw new AccessRefused(`${actor} is not in the compliance role and may not ${action} the archive`);
  }
}
