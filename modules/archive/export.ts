import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { domainToASCII } from 'node:url';
import { HASHED_FIELDS, type ArchiveRecord } from './record.js';
import type { ExportResult } from './service.js';

/** Written into the manifest so a reader knows which layout it has in hand. */
export const EXPORT_FORMAT = 'parley-archive-export/1';

export interface ExportInfo {
  /** Who exported (goes into the manifest). */
  actor: string;
  /** The search that selected the records, as given (goes into the manifest). */
  query: unknown;
  /** The server's domain: the right-hand side of the e-mails' Message-IDs. */
  domain: string;
  now?: Date;
}

/** Why an export could not be written (the folder is not new, a file exists). */
export class ExportError extends Error {
  override readonly name = 'ExportError';
}

/** One conversation on one UTC day: the content of one e-mail file. */
interface ConversationDay {
  /** 'room <jid>' or 'chat <a> <b>' with the pair sorted: the conversation whatever the direction. */
  key: string;
  room: string;
  pair: [string, string];
  day: string;
  records: ArchiveRecord[];
}

interface WrittenFile { path: string; size: number; sha256: string; records: number }

// The export holds regulated content: only the operator's account may read it.
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
/** E-mail files fsynced at once: enough to overlap the disk's latency, few enough for open files. */
const PARALLEL_WRITES = 8;

/**
 * Write an e-discovery export into a new folder: `records.jsonl` (every column of every record,
 * the machine-readable truth that can be checked against the hash chain), one RFC 5322 e-mail
 * per conversation per UTC day under `eml/` (what review platforms load), and `manifest.json`
 * with the SHA-256 of every file and of every line of records.jsonl. Every file is fsynced and
 * the manifest comes last, so a folder without a manifest is an export that did not finish.
 *
 * The result lists records.jsonl, the e-mails and, last, manifest.json: the manifest's hash is
 * what the access log should keep, since it pins every other file.
 */
export async function exportRecords(records: ArchiveRecord[], dir: string, info: ExportInfo): Promise<ExportResult> {
  const root = path.resolve(dir);
  const sorted = [...records].sort((a, b) => a.seq - b.seq);
  await createExportFolder(root);

  const jsonl = await writeRecordsJsonl(root, sorted);
  await fs.mkdir(path.join(root, 'eml'), { mode: DIR_MODE });
  const conversations = conversationDays(sorted);
  const emails = await writeEmails(root, conversations, messageIdDomain(info.domain));
  await syncDirectory(path.join(root, 'eml'));

  const files = [jsonl.file, ...emails.sort((a, b) => (a.path < b.path ? -1 : 1))];
  const manifest = {
    format: EXPORT_FORMAT,
    exported_by: info.actor,
    exported_at: (info.now ?? new Date()).toISOString(),
    domain: info.domain,
    query: info.query ?? null,
    counts: {
      records: sorted.length,
      messages: sorted.filter((r) => r.kind === 'message').length,
      blocked: sorted.filter((r) => r.outcome === 'blocked' || r.outcome === 'dropped').length,
      conversation_days: conversations.length,
      files: files.length,
    },
    files,
    // A hash per line lets one record be shown to belong to the export without the others.
    record_lines: jsonl.lines,
  };
  const manifestFile = await writeManifest(root, manifest);
  return {
    dir: root,
    records: sorted.length,
    files: [...files, manifestFile].map((f) => ({ file: f.path, sha256: f.sha256, records: f.records })),
    manifest: path.join(root, manifestFile.path),
  };
}

// --- the folder and its files ---------------------------------------------------------------

async function createExportFolder(root: string): Promise<void> {
  await fs.mkdir(path.dirname(root), { recursive: true, mode: DIR_MODE });
  try {
    await fs.mkdir(root, { mode: DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (!(await fs.stat(root)).isDirectory()) throw new ExportError(`${root} exists and is not a folder`);
    // Never mix two exports, or an export and other files, under one manifest.
    if ((await fs.readdir(root)).length > 0) throw new ExportError(`${root} is not empty; an export needs a new folder`);
  }
}

/**
 * Create a file that must not exist yet ('wx'), write it, fsync it. Returns its size and SHA-256
 * computed over the bytes written, not read back.
 */
async function writeSyncedFile(root: string, rel: string, chunks: Iterable<string>, records: number): Promise<WrittenFile> {
  const handle = await fs.open(path.join(root, rel), 'wx', FILE_MODE);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for (const chunk of chunks) {
      const bytes = Buffer.from(chunk, 'utf8');
      hash.update(bytes);
      size += bytes.length;
      let done = 0;
      while (done < bytes.length) done += (await handle.write(bytes, done)).bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { path: rel, size, sha256: hash.digest('hex'), records };
}

/** Make the folder's new entries durable too (a file fsync does not cover its name). */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // Windows cannot open a folder as a file
  const handle = await fs.open(dir, 'r');
  try { await handle.sync(); } finally { await handle.close(); }
}

async function writeManifest(root: string, manifest: Record<string, unknown>): Promise<WrittenFile> {
  const tmp = 'manifest.json.partial';
  const written = await writeSyncedFile(root, tmp, [manifestJson(manifest)], 0);
  // Appears whole or not at all: its presence is what marks the export complete.
  await fs.rename(path.join(root, tmp), path.join(root, 'manifest.json'));
  await syncDirectory(root);
  return { ...written, path: 'manifest.json' };
}

/**
 * Indented JSON with one line per entry of a list (files, record lines): a manifest of 100,000
 * records stays a few MB and can be read with grep.
 */
function manifestJson(manifest: Record<string, unknown>): string {
  const entries = Object.entries(manifest).map(([key, value]) => {
    const rendered = Array.isArray(value) && value.length > 0
      ? `[\n${value.map((v) => `    ${JSON.stringify(v)}`).join(',\n')}\n  ]`
      : JSON.stringify(value ?? null, null, 2).replace(/\n/g, '\n  ');
    return `  ${JSON.stringify(key)}: ${rendered}`;
  });
  return `{\n${entries.join(',\n')}\n}\n`;
}

// --- records.jsonl --------------------------------------------------------------------------

/**
 * One record as a JSON object: the hashed columns in chain order (so recordHash can be
 * recomputed from the line), `time` beside `ts` for people, then the chain hashes and any other
 * column the record carries.
 */
export function recordJson(r: ArchiveRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of HASHED_FIELDS) {
    out[field] = r[field];
    if (field === 'ts') out.time = new Date(r.ts).toISOString();
  }
  out.prev_hash = r.prev_hash;
  out.hash = r.hash;
  for (const [key, value] of Object.entries(r)) if (!(key in out)) out[key] = value;
  return out;
}

async function writeRecordsJsonl(root: string, records: ArchiveRecord[])
  : Promise<{ file: WrittenFile; lines: { seq: number; id: string; sha256: string }[] }> {
  const lines: { seq: number; id: string; sha256: string }[] = [];
  function* chunks(): Generator<string> {
    let buffer = '';
    for (const r of records) {
      const line = JSON.stringify(recordJson(r));
      lines.push({ seq: r.seq, id: r.id, sha256: sha256Hex(line) });
      buffer += `${line}\n`;
      if (buffer.length >= 1 << 20) { yield buffer; buffer = ''; }
    }
    if (buffer) yield buffer;
  }
  const file = await writeSyncedFile(root, 'records.jsonl', chunks(), records.length);
  return { file, lines };
}

// --- conversations --------------------------------------------------------------------------

/**
 * Messages grouped by conversation and UTC day, in order of each group's first record. A group
 * chat is its room; anything else is the unordered pair of bare JIDs, so both directions of a
 * chat land in one file. The chain's own entries (purge, seal) are in records.jsonl only.
 */
function conversationDays(records: ArchiveRecord[]): ConversationDay[] {
  const groups = new Map<string, ConversationDay>();
  for (const r of records) {
    if (r.kind !== 'message') continue;
    const pair = [r.sender_bare, r.recipient_bare].sort() as [string, string];
    const key = r.room ? `room ${r.room}` : `chat ${pair[0]} ${pair[1]}`;
    const groupKey = `${key}\n${r.day}`;
    let group = groups.get(groupKey);
    if (!group) {
      group = { key, room: r.room, pair, day: r.day, records: [] };
      groups.set(groupKey, group);
    }
    group.records.push(r);
  }
  return [...groups.values()];
}

async function writeEmails(root: string, conversations: ConversationDay[], domain: string): Promise<WrittenFile[]> {
  const written: WrittenFile[] = [];
  for (let i = 0; i < conversations.length; i += PARALLEL_WRITES) {
    const batch = conversations.slice(i, i + PARALLEL_WRITES);
    written.push(...await Promise.all(batch.map((c) =>
      writeSyncedFile(root, emlFileName(c), [renderEmail(c, domain)], c.records.length))));
  }
  return written;
}

/**
 * A name that is valid on every filesystem: the day, the JIDs reduced to [A-Za-z0-9._-] and
 * shortened, and a hash of the exact conversation, so two conversations that look alike after
 * reduction (or differ only in case) never share a file.
 */
function emlFileName(c: ConversationDay): string {
  const label = c.room || `${c.pair[0]}__${c.pair[1]}`;
  const safe = label.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 60) || 'conversation';
  return `eml/${c.day}_${safe}_${sha256Hex(c.key).slice(0, 10)}.eml`;
}

// --- the e-mail -----------------------------------------------------------------------------

/** An RFC 5322 message with one text/plain part, CRLF line endings throughout. */
function renderEmail(c: ConversationDay, domain: string): string {
  const first = c.records[0]!;
  const from = first.sender_bare || first.sender;
  const participants = distinct([c.room, ...c.records.flatMap((r) => [r.sender_bare, r.recipient_bare])]);
  const to = participants.filter((p) => p !== from);
  const subject = c.room ? `Room ${c.room} ${c.day}` : `Chat ${c.pair[0]} / ${c.pair[1]} ${c.day}`;
  const headers = [
    addressHeader('From', [from]),
    addressHeader('To', to.length > 0 ? to : [from]),
    `Date: ${rfc5322Date(first.ts)}`,
    unstructuredHeader('Subject', subject),
    // Stable across exports, so a review platform recognises the same conversation-day again.
    `Message-ID: <${sha256Hex(`${c.key}\n${c.day}`).slice(0, 32)}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    unstructuredHeader('X-Parley-Records', c.records.map((r) => r.id).join(', ')),
  ];
  return `${headers.join('\r\n')}\r\n\r\n${encodeQuotedPrintable(transcript(c.records))}\r\n`;
}

/**
 * The readable conversation: per message a line with time, sender and archive id, the policy's
 * decision when it did not simply allow the message, then the subject and body indented by two
 * spaces, so no body line can pass for the start of another message.
 */
function transcript(records: ArchiveRecord[]): string {
  const blocks = records.map((r) => {
    const lines = [`${new Date(r.ts).toISOString().replace('T', ' ').replace('Z', ' UTC')}  ${r.sender || r.sender_bare}  [${r.id}]`];
    const verdict = policyNote(r);
    if (verdict) lines.push(`  ${verdict}`);
    if (r.subject) lines.push(...indent(`Subject: ${r.subject}`));
    if (r.body) lines.push(...indent(r.body));
    else if (!r.subject) lines.push('  (no text; the full stanza is in records.jsonl)');
    return lines.join('\r\n');
  });
  return blocks.join('\r\n\r\n');
}

function policyNote(r: ArchiveRecord): string {
  switch (r.outcome) {
    case 'blocked': return `[BLOCKED by policy, not delivered${r.decision ? `: ${r.decision}` : ''}]`;
    case 'dropped': return `[DROPPED by policy, not delivered${r.decision ? `: ${r.decision}` : ''}]`;
    case 'rewritten': return `[REWRITTEN by policy; shown as delivered${r.decision ? `: ${r.decision}` : ''}]`;
    default: return '';
  }
}

/** Lines of a text, each indented; CR, LF and CRLF all end a line. */
function indent(text: string): string[] {
  return text.split(/\r\n|\r|\n/).map((line) => `  ${line}`);
}

function distinct(values: string[]): string[] {
  return [...new Set(values.filter((v) => v !== ''))];
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** RFC 5322 3.3 date-time in UTC with a numeric zone ("GMT" is the obsolete form). */
function rfc5322Date(ts: number): string {
  const d = new Date(ts);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${WEEKDAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} `
    + `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

function messageIdDomain(domain: string): string {
  return domainToASCII(domain) || 'parley.invalid';
}

// --- headers (RFC 5322, RFC 2047) ------------------------------------------------------------

/** RFC 5322 3.2.3 atext: what a local part may hold unquoted. */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * A JID as a mailbox. A JID that is a valid e-mail address is written as it is. Otherwise the JID
 * is the display name (RFC 2047-encoded when not ASCII) and the address is the closest valid one:
 * a quoted local part, an A-label domain, or, when the local part is not ASCII (e-mail without
 * SMTPUTF8 cannot carry it), a made-up address under the reserved `.invalid` domain (RFC 6761)
 * that no review tool can mistake for a real mailbox.
 */
function mailbox(jid: string): string {
  const address = emailAddress(jid);
  return address === jid ? jid : `${displayName(jid)} <${address}>`;
}

function emailAddress(jid: string): string {
  const at = jid.indexOf('@');
  const local = at === -1 ? '' : jid.slice(0, at);
  const domain = at === -1 ? jid : jid.slice(at + 1);
  const asciiDomain = domain.startsWith('[') ? `[IPv6:${domain.slice(1, -1)}]` : domainToASCII(domain);
  if (local && asciiDomain) {
    if (DOT_ATOM.test(local)) return `${local}@${asciiDomain}`;
    if (PRINTABLE_ASCII.test(local)) return `"${local.replace(/["\\]/g, '\\$&')}"@${asciiDomain}`;
  }
  const tail = asciiDomain && !asciiDomain.startsWith('[') ? `${asciiDomain}.invalid` : 'invalid';
  return `xmpp-${sha256Hex(jid).slice(0, 12)}@${tail}`;
}

function displayName(text: string): string {
  if (PRINTABLE_ASCII.test(text)) return `"${text.replace(/["\\]/g, '\\$&')}"`;
  return encodedWords(text).join(' ');
}

function addressHeader(name: string, jids: string[]): string {
  return foldHeader(name, jids.map(mailbox).join(', '));
}

/**
 * An unstructured header (RFC 5322 3.2.5). Plain ASCII words are folded as they are; anything
 * else (non-ASCII, controls, runs of spaces, a word too long to fold) becomes RFC 2047
 * encoded-words, which decoders join back without the spaces between them.
 */
function unstructuredHeader(name: string, value: string): string {
  const plain = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/.test(value)
    && value.split(' ').every((w) => w.length <= 76 - name.length)
    && !value.includes('=?');
  return foldHeader(name, plain ? value : encodedWords(value).join(' '));
}

/** Fold at spaces so lines stay within 78 characters where the words allow (RFC 5322 2.1.1). */
function foldHeader(name: string, value: string): string {
  const words = value.split(' ');
  const lines: string[] = [];
  let line = `${name}: ${words[0]}`;
  for (const word of words.slice(1)) {
    if (line.length + 1 + word.length > 78) {
      lines.push(line);
      line = ` ${word}`;
    } else {
      line += ` ${word}`;
    }
  }
  lines.push(line);
  return lines.join('\r\n');
}

/** Encoded-words this long still fit on a header's first line after the longest header name. */
const ENCODED_WORD_MAX = 58;
const ENCODED_WORD_OVERHEAD = '=?UTF-8?Q??='.length;
/** RFC 2047 5(3): the characters a Q-encoded word may hold as they are in any position. */
const Q_LITERAL = /^[A-Za-z0-9!*+\-/]$/;

/**
 * RFC 2047 Q encoding split into words of whole characters (a word must not split a UTF-8
 * sequence, 5), restricted to the set that is safe in a phrase, so the words also serve as
 * display names.
 */
export function encodedWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  for (const ch of text) {
    const encoded = ch === ' ' ? '_' : Q_LITERAL.test(ch) ? ch : hexBytes(ch);
    if (current && ENCODED_WORD_OVERHEAD + current.length + encoded.length > ENCODED_WORD_MAX) {
      words.push(`=?UTF-8?Q?${current}?=`);
      current = '';
    }
    current += encoded;
  }
  words.push(`=?UTF-8?Q?${current}?=`);
  return words;
}

// --- quoted-printable (RFC 2045 6.7) --------------------------------------------------------

const QP_LINE_MAX = 76;

/**
 * Quoted-printable for UTF-8 text whose lines end in CRLF (those are the hard breaks). Lines are
 * cut with soft breaks ('=' at the end) to stay within 76 characters, never inside a character's
 * bytes, so even a decoder that works line by line gets whole characters.
 */
export function encodeQuotedPrintable(text: string): string {
  return text.split('\r\n').map(encodeQpLine).join('\r\n');
}

function encodeQpLine(line: string): string {
  const tokens = [...line].map((ch) => {
    const cp = ch.codePointAt(0)!;
    return (cp >= 33 && cp <= 126 && cp !== 61) || cp === 32 || cp === 9 ? ch : hexBytes(ch);
  });
  // Rule 3: a space or tab must not end an encoded line (transports strip it).
  const last = tokens.length - 1;
  if (tokens[last] === ' ' || tokens[last] === '\t') tokens[last] = hexBytes(tokens[last]!);
  // "From " starting a line is mangled by mbox tools; a leading '.' by some SMTP relays.
  if (line.startsWith('From ') || line.startsWith('.')) tokens[0] = hexBytes(tokens[0]!);

  const out: string[] = [];
  let current = '';
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const isLast = i === last;
    // A soft-broken line carries its '=' too; the final piece may use the whole 76.
    const room = isLast ? QP_LINE_MAX : QP_LINE_MAX - 1;
    if (current.length + token.length > room) {
      out.push(`${current}=`);
      current = '';
    }
    current += token;
  }
  out.push(current);
  return out.join('\r\n');
}

function hexBytes(ch: string): string {
  let out = '';
  for (const byte of Buffer.from(ch, 'utf8')) out += `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
