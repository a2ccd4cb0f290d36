import * as crypto from 'node:crypto';

/** The hash before the first entry of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

export type RecordKind = 'message' | 'purge' | 'seal';
export type Direction = 'internal' | 'external' | 'partner';
export type Outcome = 'allowed' | 'rewritten' | 'blocked' | 'dropped';

/** What capture produces for one message, before it has a place in the chain. */
export interface RecordInput {
  id: string;
  ts: number;
  kind: RecordKind;
  type: string;
  sender: string;
  sender_bare: string;
  recipient: string;
  recipient_bare: string;
  room: string;
  direction: Direction | '';
  outcome: Outcome | '';
  decision: string;
  body: string;
  subject: string;
  thread: string;
  stanza: string;
  delivered: string;
  retain_until: string;
  meta: string;
  signature: string;
}

/** An archived entry: the input with its day, chain position and hashes. */
export interface ArchiveRecord extends RecordInput {
  seq: number;
  day: string;
  prev_hash: string;
  hash: string;
  /** Who sees it through MAM: 1 the sender, 2 the addressee (not hashed: the users' view, not the record). */
  seen_by?: number;
  /** Before seen_by: who saw it, as JSON [[owner, with], ...]; '' in records written since. */
  views?: string;
}

/** For MAM: which local accounts see the message, and with whom. */
export interface UserViewRow { owner: string; with_jid: string }

/** The columns a record's hash covers, in this order. Changing it breaks every existing chain. */
export const HASHED_FIELDS = [
  'seq', 'id', 'ts', 'day', 'kind', 'type', 'sender', 'sender_bare', 'recipient', 'recipient_bare', 'room',
  'direction', 'outcome', 'decision', 'body', 'subject', 'thread', 'stanza', 'delivered', 'retain_until', 'meta', 'signature',
] as const satisfies readonly (keyof ArchiveRecord)[];

/** One UTC day in ms. */
export const DAY_MS = 24 * 60 * 60 * 1000;
let lastDayNumber = Number.NaN;
let lastDay = '';

/**
 * The UTC day (YYYY-MM-DD) of a time in ms. Called for every record, nearly always for the same
 * day as the call before, so the last answer is kept instead of formatting a date each time.
 */
export function dayOf(ts: number): string {
  const n = Math.floor(ts / DAY_MS);
  if (n !== lastDayNumber) {
    lastDay = new Date(n * DAY_MS).toISOString().slice(0, 10);
    lastDayNumber = n;
  }
  return lastDay;
}

/** The canonical form of a record: a JSON array of the hashed fields in fixed order. */
export function canonicalRecord(r: Omit<ArchiveRecord, 'prev_hash' | 'hash'>): string {
  return JSON.stringify(HASHED_FIELDS.map((f) => r[f]));
}

/** crypto.hash (Node >= 20.12): the same digest without a Hash object per record, about twice as fast. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** SHA-256 (hex) over the previous entry's hash and this entry's canonical form. */
export function chainHash(prevHash: string, canonical: string): string {
  return oneShotHash ? oneShotHash('sha256', `${prevHash}\n${canonical}`, 'hex') : crypto.createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}

export function recordHash(r: Omit<ArchiveRecord, 'hash'>): string {
  return chainHash(r.prev_hash, canonicalRecord(r));
}

/** One entry of the access log (who read the archive). */
export interface AccessEntry {
  seq: number;
  ts: number;
  actor: string;
  action: string;
  params: string;
  result: 'allowed' | 'refused' | 'failed';
  detail: string;
  prev_hash: string;
  hash: string;
}

export function accessHash(e: Omit<AccessEntry, 'hash'>): string {
  return chainHash(e.prev_hash, JSON.stringify([e.seq, e.ts, e.actor, e.action, e.params, e.result, e.detail]));
}

/** The meta of a purge entry: what was removed and why. Gaps in the chain must be listed here. */
export interface PurgeMeta {
  reason: string;
  /** The UTC day the purge ran on (records with retain_until <= this day were due). */
  cutoff: string;
  days: string[];
  count: number;
  /** Contiguous runs of removed seqs, with the hashes that let the chain be checked across the gap. */
  ranges: { first: number; last: number; prev_hash: string; last_hash: string }[];
  /** Holds that kept records of these days. */
  held: string[];
}

/** The meta of a seal entry: the segment file of one closed day. */
export interface SealMeta {
  day: string;
  file: string;
  sha256: string;
  first_seq: number;
  last_seq: number;
  count: number;
}
