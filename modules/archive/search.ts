import type Database from 'better-sqlite3';
import { Jid } from '../../server/api/index.js';
import { dayOf, type ArchiveRecord } from './record.js';
import type { SearchQuery } from './service.js';

export const DEFAULT_SEARCH_LIMIT = 1000;
export const MAX_SEARCH_LIMIT = 100_000;

/** The range of a JS Date: a time outside it has no UTC day, so it cannot bound a search. */
const MAX_TIME = 8.64e15;
const DIRECTIONS: ReadonlySet<string> = new Set(['internal', 'external', 'partner']);

/**
 * A search that cannot run as asked; the message names the field and what was expected.
 * Thrown before any SQL runs, so a caller can show it to the compliance officer as it is.
 */
export class SearchQueryError extends RangeError {
  override readonly name = 'SearchQueryError';
}

/** A search as SQL, exposed so tests can check the query plan uses the indexes. */
export interface CompiledSearch {
  sql: string;
  params: (string | number)[];
}

/**
 * E-discovery search over the compliance record: messages only (not the chain's purge and seal
 * entries), in chain order. Every filter narrows the result; an empty `participants` list
 * matches nothing, so a group that resolved to nobody never widens a search to everyone.
 * Pure: access checks and the access log are the caller's job (ComplianceService.search).
 */
export function searchRecords(db: Database.Database, q: SearchQuery): ArchiveRecord[] {
  const compiled = compileSearch(q);
  if (!compiled) return [];
  return db.prepare(compiled.sql).all(...compiled.params) as ArchiveRecord[];
}

/** The SQL of a search, or null when it can match nothing. Throws SearchQueryError. */
export function compileSearch(q: SearchQuery): CompiledSearch | null {
  const where = ["kind = 'message'"];
  const params: (string | number)[] = [];
  const limit = searchLimit(q.limit);

  if (q.participants !== undefined) {
    const jids = [...new Set(q.participants.map((p) => bareJid(p, 'participants')))];
    if (jids.length === 0) return null;
    const list = jids.map(() => '?').join(', ');
    // Senders and recipients from the participants table, rooms from the partial room index,
    // joined by SQLite's multi-index OR. A room's JID is a participant of every message in it.
    where.push(`(seq IN (SELECT p.seq FROM parties p JOIN jids j ON j.id = p.jid WHERE j.jid IN (${list})) OR (room IN (${list}) AND room <> ''))`);
    params.push(...jids, ...jids);
  }
  if (q.room !== undefined) {
    where.push("room = ? AND room <> ''");
    params.push(bareJid(q.room, 'room'));
  }
  if (q.start !== undefined) {
    const start = time(q.start, 'start');
    // The day bound lets SQLite use the (day, seq) index; the ts bound is the exact one.
    where.push('day >= ?', 'ts >= ?');
    params.push(dayOf(start), start);
  }
  if (q.end !== undefined) {
    const end = time(q.end, 'end');
    where.push('day <= ?', 'ts <= ?');
    params.push(dayOf(end), end);
  }
  if (q.keywords !== undefined && q.keywords.trim() !== '') {
    // The FTS table's rowid is the record's seq, so the matches drive primary-key lookups.
    where.push('seq IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ?)');
    params.push(ftsQuery(q.keywords));
  }
  if (q.direction !== undefined) {
    if (!DIRECTIONS.has(q.direction)) {
      throw new SearchQueryError(`direction: expected internal, external or partner, got ${JSON.stringify(q.direction)}`);
    }
    where.push('direction = ?');
    params.push(q.direction);
  }
  if (q.includeBlocked === false) where.push("outcome IN ('allowed', 'rewritten')");

  params.push(limit);
  return { sql: `SELECT * FROM records WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`, params };
}

/**
 * The limit, refused rather than clamped when out of range: a silently shortened result would
 * look like a complete one to whoever reads it.
 */
function searchLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_SEARCH_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
    throw new SearchQueryError(`limit: expected a whole number from 1 to ${MAX_SEARCH_LIMIT}, got ${limit}`);
  }
  return limit;
}

/** Records hold prepared bare JIDs, so the query must too: 'Alice@Example.COM/phone' finds alice@example.com. */
function bareJid(raw: string, field: string): string {
  const jid = typeof raw === 'string' ? Jid.tryParse(raw.trim()) : null;
  if (!jid) throw new SearchQueryError(`${field}: ${JSON.stringify(raw)} is not a valid JID`);
  return jid.bare;
}

function time(ms: number, field: string): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > MAX_TIME) {
    throw new SearchQueryError(`${field}: expected a time in ms since the epoch, got ${ms}`);
  }
  return Math.trunc(ms);
}

// --- keywords -------------------------------------------------------------------------------

interface KeywordTerm { text: string; prefix: boolean; exclude: boolean }
type KeywordToken = KeywordTerm | 'AND' | 'OR' | 'NOT';

/**
 * Turn what a person typed into an FTS5 expression that cannot be a syntax error: every word and
 * phrase is emitted as a quoted FTS5 string, and only this function writes operators.
 *
 * The language: words are ANDed; "a phrase" matches those words in a row; a trailing * makes a
 * word (or a phrase's last word) a prefix; OR between two terms matches either; NOT or a leading
 * '-' excludes a term. AND is accepted and means what a space means. Operators count only in
 * capitals and unquoted ("OR" searches the word); one with nothing to act on is ignored, so
 * `card AND` is `card`. A term without letters or digits is dropped, because the tokenizer
 * indexes none and FTS5 would otherwise make the whole query match nothing.
 *
 * Throws SearchQueryError when nothing is left to look for (`NOT visa`, `*`): FTS5 cannot
 * evaluate a purely negative query, and answering "no records" would read as a real result.
 */
export function ftsQuery(keywords: string): string {
  const groups = keywordGroups(tokenizeKeywords(keywords));
  const include = groups.filter((g) => !g[0]!.exclude);
  const exclude = groups.filter((g) => g[0]!.exclude);
  if (include.length === 0) {
    throw new SearchQueryError(`keywords: ${JSON.stringify(keywords)} has no word to search for`);
  }
  const positive = include.map(orGroup).join(' AND ');
  if (exclude.length === 0) return positive;
  return `(${positive}) NOT (${exclude.map(orGroup).join(' OR ')})`;
}

function orGroup(group: KeywordTerm[]): string {
  const quoted = group.map((t) => `"${t.text.replaceAll('"', '""')}"${t.prefix ? '*' : ''}`);
  return quoted.length === 1 ? quoted[0]! : `(${quoted.join(' OR ')})`;
}

/**
 * Group terms joined by OR. An OR binds the terms on either side into one group (taking the
 * exclusion of its first term); NOT applies to the next term. `a OR -b` cannot be said in FTS5,
 * so it reads as `a -b`.
 */
function keywordGroups(tokens: KeywordToken[]): KeywordTerm[][] {
  const groups: KeywordTerm[][] = [];
  let pendingOr = false;
  let pendingNot = false;
  for (const token of tokens) {
    if (token === 'AND') { pendingOr = false; continue; }
    if (token === 'OR') { pendingOr = groups.length > 0; continue; }
    if (token === 'NOT') { pendingNot = true; pendingOr = false; continue; }
    const term = pendingNot ? { ...token, exclude: true } : token;
    pendingNot = false;
    const last = groups.at(-1);
    if (pendingOr && last && !term.exclude) last.push({ ...term, exclude: last[0]!.exclude });
    else groups.push([term]);
    pendingOr = false;
  }
  return groups;
}

const INDEXED_CHARACTER = /[\p{L}\p{N}\p{Co}]/u;
// NUL ends an FTS5 string early ("unterminated string"); other controls are never indexed.
const CONTROL = /[\u0000-\u001f\u007f]/g;

function tokenizeKeywords(keywords: string): KeywordToken[] {
  const text = keywords.replace(CONTROL, ' ');
  const tokens: KeywordToken[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/u.test(ch)) { i++; continue; }
    let exclude = false;
    if (ch === '-' && i + 1 < text.length && !/\s/u.test(text[i + 1]!)) { exclude = true; i++; }
    if (text[i] === '"') {
      // An unterminated phrase runs to the end: `Project X"` is two words and an empty phrase.
      const close = text.indexOf('"', i + 1);
      const end = close === -1 ? text.length : close;
      const phrase = text.slice(i + 1, end);
      i = end + 1;
      let prefix = false;
      while (text[i] === '*') { prefix = true; i++; }
      pushTerm(tokens, { text: phrase, prefix, exclude });
      continue;
    }
    let end = i;
    while (end < text.length && text[end] !== '"' && !/\s/u.test(text[end]!)) end++;
    const word = text.slice(i, end);
    i = end;
    if (!exclude && (word === 'AND' || word === 'OR' || word === 'NOT')) { tokens.push(word); continue; }
    const stem = word.replace(/\*+$/, '');
    pushTerm(tokens, { text: stem, prefix: stem !== word, exclude });
  }
  return tokens;
}

function pushTerm(tokens: KeywordToken[], term: KeywordTerm): void {
  if (INDEXED_CHARACTER.test(term.text)) tokens.push(term);
}
