import type { ArchiveRecord, RecordInput } from './record.js';

/** A page of one account's history (XEP-0313 over XEP-0059). */
export interface HistoryQuery {
  /** The account whose view is read (bare JID). */
  owner: string;
  /** Only messages with this contact: a bare JID matches the contact's bare JID, a full JID the exact address. */
  with?: string;
  /** Time range, ms since the epoch, inclusive. */
  start?: number;
  end?: number;
  /** XEP-0313 #extended: only after / before this archive id (exclusive). */
  afterId?: string;
  beforeId?: string;
  /** XEP-0313 #extended: exactly these ids (in archive order). */
  ids?: string[];
  /** RSM: page size. */
  max: number;
  /** RSM: the page after this id. */
  after?: string;
  /** RSM: the page before this id; '' means the last page. */
  before?: string;
  /** RSM: start at this offset (0-based) of the whole result. */
  index?: number;
}

export interface HistoryItem {
  /** Archive id (the stanza-id). */
  id: string;
  ts: number;
  /** The message as its recipient received it (XML), without the archive's stanza-id. */
  stanza: string;
}

export interface HistoryPage {
  items: HistoryItem[];
  /** Whether this page reaches the end of the result in the direction of paging. */
  complete: boolean;
  /** Size of the whole result (RSM count). */
  count: number;
  /** Offset of the first item in the whole result (RSM first@index). */
  firstIndex: number;
}

/** Thrown when an RSM or #extended id is not in the owner's view (XEP-0313: item-not-found). */
export class HistoryIdNotFound extends Error {
  override name = 'HistoryIdNotFound';
  constructor(readonly id: string) { super(`no archived message with id ${id}`); }
}

/** Whether a local account should see an archived message in its history (MAM preferences). */
export type ViewFilter = (owner: string, withJid: string, record: RecordInput) => boolean;

/**
 * The `archive` service, provided by the archive module. Users read their own history through it
 * (the mam module); what they see or delete never changes the compliance record.
 */
export interface ArchiveService {
  /** Decide per account whether new messages enter its history view (MAM preferences 'never'). */
  setViewFilter(fn: ViewFilter): () => void;
  /**
   * Read a page of an account's history, once every message written before the call is in it.
   * Rejects with HistoryIdNotFound for unknown ids.
   */
  history(q: HistoryQuery): Promise<HistoryPage>;
  /** The first and last message of an account's history (XEP-0313 #extended metadata). */
  historyBounds(owner: string): Promise<{ first: HistoryItem; last: HistoryItem } | null>;
  /** Remove messages from an account's view (user-side deletion). Resolves with how many. The records stay. */
  hideFromHistory(owner: string, filter: { with?: string; start?: number; end?: number; ids?: string[] }): Promise<number>;
  /** A record by its archive id (for tools; not access-checked: callers are server modules). */
  record(id: string): ArchiveRecord | undefined;
}

/** Who asks: a bare JID that passed authentication, or 'os:<user>' for the operator of the CLI. */
export type Actor = string;

export interface SearchQuery {
  /** Any of these bare JIDs took part (sender or recipient). */
  participants?: string[];
  /** Group chat in this room (bare JID). */
  room?: string;
  /** Time range, ms, inclusive. */
  start?: number;
  end?: number;
  /** Full-text query over bodies and subjects: words are ANDed; "a phrase", prefix*, OR, NOT word / -word. */
  keywords?: string;
  direction?: 'internal' | 'external' | 'partner';
  /** Include messages policy blocked or dropped (default true: the record says what happened). */
  includeBlocked?: boolean;
  /** Most records returned (default 1000). */
  limit?: number;
}

export interface ExportResult {
  dir: string;
  records: number;
  files: { file: string; sha256: string; records: number }[];
  manifest: string;
}

export interface Hold {
  id: string;
  name: string;
  jids: string[];
  start: number | null;
  end: number | null;
  reason: string;
  placedBy: string;
  placedAt: number;
  releasedBy: string | null;
  releasedAt: number | null;
}

/** Thrown when an actor is not in the compliance role; the refusal has been written to the access log. */
export class AccessRefused extends Error {
  override name = 'AccessRefused';
}

/**
 * The compliance functions: what the CLI calls today and the admin API and web console will call.
 * Every call checks the actor's role and writes the access log (who, when, what) first.
 */
export interface ComplianceService {
  /** Whether the actor may read the archive (configured readers and directory groups). */
  mayRead(actor: Actor): boolean;
  /** Records in chain order, up to the query's limit; `truncated` when more match. */
  search(actor: Actor, q: SearchQuery): { records: ArchiveRecord[]; truncated: boolean };
  /**
   * Export a search's records to a new folder: JSON Lines, RFC 5322 files (one per conversation
   * per day), and a manifest of SHA-256 hashes. Refused when more records match than the limit
   * (default and most: 100,000): an export for a matter is complete or it is not made.
   */
  export(actor: Actor, q: SearchQuery, dir: string): Promise<ExportResult>;
  placeHold(actor: Actor, hold: { name: string; jids: string[]; start?: number; end?: number; reason?: string }): Hold;
  releaseHold(actor: Actor, id: string): Hold;
  holds(actor: Actor, includeReleased?: boolean): Hold[];
  /** Check records, chain, checkpoints, segments and the access log. Open to any operator; logged. */
  verify(actor: Actor): VerifyReport;
  /** Seal the days before `before` (default today) into segment files, in a thread of its own; returns the days sealed. */
  seal(actor: Actor, opts?: { before?: string }): Promise<string[]>;
  /** Purge what retention allows on `today` (default today), day by day in a thread of its own; a summary of the purge entries. */
  purge(actor: Actor, opts?: { today?: string; requireSealed?: boolean }): Promise<{ days: string[]; count: number; held: string[] }>;
}

export interface VerifyProblem {
  /** What is wrong: altered, inserted, reordered, removed, chain (a broken link), checkpoint, segment, access-log, signature. */
  kind: string;
  /** The record's chain position, when it is about one record. */
  seq?: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  records: number;
  checkpoints: number;
  segments: number;
  accessEntries: number;
  /** Every problem found, in chain order; the first is the first record that was tampered with. */
  problems: VerifyProblem[];
}

declare module '../../server/api/index.js' {
  interface ParleyServices {
    archive: ArchiveService;
    compliance: ComplianceService;
  }
}
