import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openArchiveDb, archiveMessage, type TestMessage } from '../../test/kit/archive.js';
import { ArchiveStore } from './store.js';
import { recordHash, type ArchiveRecord, type RecordInput } from './record.js';
import { encodeQuotedPrintable, encodedWords, exportRecords, ExportError } from './export.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const CAROL = 'carol@example.com';
const DAVE = 'dave@example.com';
const JURGEN = 'jürgen@münchen.example';
const DESK = 'desk@rooms.example.com';
const DAY1 = Date.UTC(2026, 2, 2);
const DAY2 = Date.UTC(2026, 2, 3);
const at = (day: number, h: number, m = 0, s = 0) => day + ((h * 60 + m) * 60 + s) * 1000;

const LONG_BODY = [
  'Grüße aus Zürich! Die Präsentation für das Meeting am Freitag ist fertig — 日本語のテキストも入っています 😀 and a = sign, ',
  'From here on the figures are final.',
  '.a line that starts with a dot',
  '',
  `${'x'.repeat(200)}é`,
  'trailing tab\t',
].join('\n');

type Message = TestMessage;
const message = (m: Message) => archiveMessage({ retain_until: '2033-03-02', ...m });

/**
 * Two days of a desk's conversations: a chat in both directions, a chat with a person whose JID
 * is not ASCII, a room with a blocked message on both days, a chat just before and just after
 * midnight UTC, and a seal entry of the chain.
 */
function corpus(t: TestContext): ArchiveRecord[] {
  const { db, dir } = openArchiveDb();
  t.after(() => { db.close(); fs.rmSync(dir, { recursive: true, force: true }); });
  const store = new ArchiveStore(db);
  const inputs = [
    message({ from: `${ALICE}/desk`, to: BOB, body: 'Morning Bob, are the numbers in?', ts: at(DAY1, 8, 30) }),
    message({ from: `${BOB}/phone`, to: `${ALICE}/desk`, body: 'Yes.\r\nSending them now.', ts: at(DAY1, 8, 31) }),
    message({ from: `${ALICE}/desk`, to: JURGEN, body: LONG_BODY, ts: at(DAY1, 9), direction: 'external' }),
    message({ from: `${JURGEN}/Büro`, to: ALICE, body: 'Danke schön, Alice.', ts: at(DAY1, 9, 2), direction: 'external' }),
    message({ from: `${CAROL}/laptop`, to: DESK, type: 'groupchat', body: 'Desk opens at 9. Ça va?', ts: at(DAY1, 8, 59) }),
    message({
      from: `${DAVE}/laptop`, to: DESK, type: 'groupchat', body: 'Here is the insider tip on ACME', ts: at(DAY1, 10),
      outcome: 'blocked', decision: JSON.stringify({ condition: 'policy-violation', text: 'insider information' }),
    }),
    message({ from: `${BOB}/phone`, to: ALICE, body: 'Last one before midnight', ts: at(DAY1, 23, 59, 59) + 999 }),
    message({ from: `${ALICE}/desk`, to: BOB, body: 'First one after midnight', subject: 'Überstunden', ts: DAY2 }),
    message({ from: `${CAROL}/laptop`, to: DESK, type: 'groupchat', body: 'Day two on the desk', ts: at(DAY2, 9) }),
  ];
  const records = store.append(inputs.map((record) => ({ record, views: [] })));
  const seal = { ...message({ from: '', to: '', body: '', ts: at(DAY2, 0, 5) }), kind: 'seal' as const, meta: '{"day":"2026-03-01"}' };
  return [...records, ...store.append([{ record: seal, views: [] }])];
}

/** A path for an export that does not exist yet, removed after the test. */
function tmpDir(t: TestContext): string {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-export-'));
  t.after(() => fs.rmSync(parent, { recursive: true, force: true }));
  return path.join(parent, 'export');
}
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const INFO = { actor: 'os:compliance', query: { participants: [ALICE] }, domain: 'example.com', now: new Date(Date.UTC(2026, 2, 10, 12)) };

// --- an RFC 5322 / MIME reader written for the test, independent of export.ts ---------------

interface ParsedMail { headers: Map<string, string>; rawHeaders: string; body: string; rawBody: string }

function decodeBytes(hexish: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < hexish.length; i++) {
    if (hexish[i] === '=') { bytes.push(Number.parseInt(hexish.slice(i + 1, i + 3), 16)); i += 2; } else bytes.push(hexish.charCodeAt(i));
  }
  return Buffer.from(bytes);
}

/** RFC 2047: adjacent encoded-words are joined (the space between them is not text), then decoded. */
function decodeHeader(value: string): string {
  const joined = value.replace(/(\?=)[ \t]+(?==\?)/g, '$1');
  return joined.replace(/(?:=\?UTF-8\?Q\?[^?]*\?=)+/gi, (run) => {
    const payload = [...run.matchAll(/=\?UTF-8\?Q\?([^?]*)\?=/gi)].map((m) => m[1]!.replaceAll('_', ' ')).join('');
    return decodeBytes(payload).toString('utf8');
  });
}

function decodeQuotedPrintable(text: string): string {
  return decodeBytes(text.replace(/=\r\n/g, '')).toString('utf8');
}

function parseMail(raw: string): ParsedMail {
  const split = raw.indexOf('\r\n\r\n');
  const rawHeaders = raw.slice(0, split);
  const rawBody = raw.slice(split + 4);
  const headers = new Map<string, string>();
  for (const field of rawHeaders.replace(/\r\n(?=[ \t])/g, '').split('\r\n')) {
    const colon = field.indexOf(':');
    headers.set(field.slice(0, colon).toLowerCase(), decodeHeader(field.slice(colon + 1).trim()));
  }
  assert.equal(headers.get('content-transfer-encoding'), 'quoted-printable');
  return { headers, rawHeaders, body: decodeQuotedPrintable(rawBody), rawBody };
}

/** Every mail in an export, by file name. */
function readMails(dir: string): Map<string, ParsedMail> {
  const mails = new Map<string, ParsedMail>();
  for (const name of fs.readdirSync(path.join(dir, 'eml')).sort()) {
    mails.set(name, parseMail(fs.readFileSync(path.join(dir, 'eml', name), 'utf8')));
  }
  return mails;
}

/** How a body appears in the transcript: each of its lines indented by two spaces. */
const asTranscript = (body: string) => body.split(/\r\n|\r|\n/).map((l) => `  ${l}`).join('\r\n');

// --- tests -----------------------------------------------------------------------------------

test('records.jsonl holds every record with every column in chain order, and each line still hashes to its chain hash', async (t) => {
  const records = corpus(t);
  const dir = tmpDir(t);
  await exportRecords([...records].reverse(), dir, INFO);
  const text = fs.readFileSync(path.join(dir, 'records.jsonl'), 'utf8');
  assert.ok(text.endsWith('\n'));
  const lines = text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, records.length);
  lines.forEach((line, i) => {
    const { time, ...record } = line;
    assert.equal(time, new Date(records[i]!.ts).toISOString());
    assert.deepEqual(record, { ...records[i] });
    assert.equal(recordHash(record as unknown as ArchiveRecord), line.hash, 'the line is enough to check the chain');
  });
  assert.deepEqual(lines.map((l) => l.seq), records.map((r) => r.seq));
});

test('one e-mail per conversation per UTC day, and every message is in its conversation\'s file', async (t) => {
  const records = corpus(t);
  const dir = tmpDir(t);
  const result = await exportRecords(records, dir, INFO);
  const mails = readMails(dir);
  const messages = records.filter((r) => r.kind === 'message');
  const conversationOf = (r: ArchiveRecord) => `${r.room || [r.sender_bare, r.recipient_bare].sort().join(' ')} ${r.day}`;
  const expected = new Map<string, ArchiveRecord[]>();
  for (const r of messages) expected.set(conversationOf(r), [...(expected.get(conversationOf(r)) ?? []), r]);
  assert.equal(mails.size, 5, [...mails.keys()].join(', '));
  assert.equal(expected.size, 5);

  const seen = new Set<string>();
  for (const [name, mail] of mails) {
    assert.match(name, /^2026-03-0[23]_[A-Za-z0-9._-]+_[0-9a-f]{10}\.eml$/);
    const ids = mail.headers.get('x-parley-records')!.split(', ');
    const group = messages.filter((r) => ids.includes(r.id));
    assert.equal(group.length, ids.length, `${name}: every id is a record`);
    const key = conversationOf(group[0]!);
    assert.ok(group.every((r) => conversationOf(r) === key), `${name}: one conversation and day`);
    assert.deepEqual(group.map((r) => r.id), expected.get(key)!.map((r) => r.id), `${name}: all of it, in order`);
    assert.ok(name.startsWith(group[0]!.day));
    seen.add(key);
    let from = 0;
    for (const r of group) {
      const header = mail.body.indexOf(`  ${r.sender}  [${r.id}]`, from);
      assert.ok(header > 0, `${name}: the line for ${r.id}`);
      const at = mail.body.indexOf(asTranscript(r.body), header);
      assert.ok(at > header, `${name}: the body of ${r.id}`);
      from = at;
    }
  }
  assert.equal(seen.size, expected.size);
  assert.deepEqual(result.files.filter((f) => f.file.startsWith('eml/')).map((f) => f.records).sort(), [1, 1, 2, 2, 3]);
});

test('the e-mail headers name the conversation, encode non-ASCII per RFC 2047 and keep lines short', async (t) => {
  const records = corpus(t);
  const dir = tmpDir(t);
  await exportRecords(records, dir, INFO);
  const mails = [...readMails(dir).values()];
  const subject = (s: string) => mails.find((m) => m.headers.get('subject') === s);

  const chat = subject(`Chat ${ALICE} / ${BOB} 2026-03-02`)!;
  assert.ok(chat, mails.map((m) => m.headers.get('subject')).join('\n'));
  assert.equal(chat.headers.get('from'), ALICE);
  assert.equal(chat.headers.get('to'), BOB);
  assert.equal(chat.headers.get('date'), 'Mon, 02 Mar 2026 08:30:00 +0000');
  assert.equal(chat.headers.get('mime-version'), '1.0');
  assert.equal(chat.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.match(chat.headers.get('message-id')!, /^<[0-9a-f]{32}@example\.com>$/);

  const foreign = subject(`Chat ${ALICE} / ${JURGEN} 2026-03-02`)!;
  assert.ok(foreign);
  assert.match(foreign.rawHeaders, /^Subject: =\?UTF-8\?Q\?/m);
  assert.equal(foreign.headers.get('from'), ALICE);
  assert.match(foreign.headers.get('to')!, /^"?jürgen@münchen\.example"? <xmpp-[0-9a-f]{12}@xn--mnchen-3ya\.example\.invalid>$/);

  const room = subject(`Room ${DESK} 2026-03-02`)!;
  assert.equal(room.headers.get('from'), CAROL);
  assert.equal(room.headers.get('to'), `${DESK}, ${DAVE}`);
  assert.equal(room.headers.get('date'), 'Mon, 02 Mar 2026 08:59:00 +0000');
  assert.ok(subject(`Room ${DESK} 2026-03-03`));
  assert.ok(subject(`Chat ${ALICE} / ${BOB} 2026-03-03`));

  for (const mail of mails) {
    assert.ok(/^[\x20-\x7e\r\n\t]*$/.test(mail.rawHeaders + mail.rawBody), 'the file is 7-bit');
    assert.ok(!/(?<!\r)\n|\r(?!\n)/.test(mail.rawHeaders + mail.rawBody), 'CRLF line endings only');
    for (const line of mail.rawHeaders.split('\r\n')) assert.ok(line.length <= 78, line);
    for (const line of mail.rawBody.split('\r\n')) {
      assert.ok(line.length <= 76, line);
      assert.ok(!/[ \t]$/.test(line), `no trailing white space: ${JSON.stringify(line)}`);
    }
  }
});

test('a blocked message is in the transcript with the policy\'s decision', async (t) => {
  const records = corpus(t);
  const dir = tmpDir(t);
  await exportRecords(records, dir, INFO);
  const room = [...readMails(dir).values()].find((m) => m.headers.get('subject') === `Room ${DESK} 2026-03-02`)!;
  const blocked = records.find((r) => r.outcome === 'blocked')!;
  assert.ok(room.body.includes(`${blocked.sender}  [${blocked.id}]\r\n  [BLOCKED by policy, not delivered: ${blocked.decision}]\r\n${asTranscript(blocked.body)}`), room.body);
});

test('exporting the same records twice gives the same e-mails byte for byte', async (t) => {
  const records = corpus(t);
  const [a, b] = [tmpDir(t), tmpDir(t)];
  await exportRecords(records, a, INFO);
  await exportRecords(records, b, { ...INFO, actor: 'os:someone-else' });
  const names = fs.readdirSync(path.join(a, 'eml')).sort();
  assert.deepEqual(fs.readdirSync(path.join(b, 'eml')).sort(), names);
  for (const name of names) assert.deepEqual(fs.readFileSync(path.join(a, 'eml', name)), fs.readFileSync(path.join(b, 'eml', name)));
});

test('the manifest holds a true size and SHA-256 for every file and every records.jsonl line', async (t) => {
  const records = corpus(t);
  const dir = tmpDir(t);
  const result = await exportRecords(records, dir, INFO);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  assert.equal(manifest.exported_by, INFO.actor);
  assert.equal(manifest.exported_at, '2026-03-10T12:00:00.000Z');
  assert.deepEqual(manifest.query, INFO.query);
  assert.deepEqual(manifest.counts, { records: 10, messages: 9, blocked: 1, conversation_days: 5, files: 6 });

  const onDisk = ['records.jsonl', ...fs.readdirSync(path.join(dir, 'eml')).map((n) => `eml/${n}`)].sort();
  assert.deepEqual(manifest.files.map((f: { path: string }) => f.path).sort(), onDisk);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['eml', 'manifest.json', 'records.jsonl'], 'nothing else in the folder');
  for (const f of manifest.files as { path: string; size: number; sha256: string }[]) {
    const bytes = fs.readFileSync(path.join(dir, f.path));
    assert.equal(f.size, bytes.length, f.path);
    assert.equal(f.sha256, sha256(bytes), f.path);
  }
  const lines = fs.readFileSync(path.join(dir, 'records.jsonl'), 'utf8').slice(0, -1).split('\n');
  assert.deepEqual(manifest.record_lines, lines.map((line) => {
    const r = JSON.parse(line) as ArchiveRecord;
    return { seq: r.seq, id: r.id, sha256: sha256(line) };
  }));

  assert.equal(result.dir, path.resolve(dir));
  assert.equal(result.records, 10);
  assert.equal(result.manifest, path.join(dir, 'manifest.json'));
  assert.deepEqual(result.files.slice(0, -1), manifest.files.map((f: { path: string; sha256: string; records: number }) => ({ file: f.path, sha256: f.sha256, records: f.records })));
  assert.deepEqual(result.files.at(-1), { file: 'manifest.json', sha256: sha256(fs.readFileSync(result.manifest)), records: 0 });
});

test('an export refuses a folder that has anything in it, and accepts an empty one', async (t) => {
  const records = corpus(t);
  const dir = tmpDir(t);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  await assert.rejects(exportRecords(records, dir, INFO), ExportError);
  assert.deepEqual(fs.readdirSync(dir), ['notes.txt']);
  fs.rmSync(path.join(dir, 'notes.txt'));
  const result = await exportRecords(records, dir, INFO);
  assert.equal(result.records, records.length);
  await assert.rejects(exportRecords(records, dir, INFO), ExportError, 'not twice into one folder');
});

test('an export of no records is a valid, empty export', async (t) => {
  const dir = tmpDir(t);
  const result = await exportRecords([], dir, INFO);
  assert.equal(result.records, 0);
  assert.equal(fs.readFileSync(path.join(dir, 'records.jsonl'), 'utf8'), '');
  assert.deepEqual(fs.readdirSync(path.join(dir, 'eml')), []);
  assert.deepEqual(JSON.parse(fs.readFileSync(result.manifest, 'utf8')).record_lines, []);
});

test('quoted-printable round-trips any UTF-8 text with lines of at most 76 characters', () => {
  const samples = [
    '', ' ', '=', '==', 'a=b', 'trailing space ', 'trailing tab\t', '\t', 'From me', '.', 'é'.repeat(100),
    '😀'.repeat(40), `${'a'.repeat(74)}é`, `${'a'.repeat(75)}`, `${'a'.repeat(76)}`, `${'a'.repeat(77)}`, `${'a'.repeat(75)} `,
    'ümlaut and 日本語 mixed with = signs and long long long long long long long long long long text',
  ];
  for (let n = 0; n < 200; n++) {
    samples.push(Array.from({ length: 1 + (n * 7) % 150 }, (_, i) => String.fromCodePoint([32, 61, 9, 0xe9, 0x65e5, 0x1f600, 97][(n + i * 3) % 7]!)).join(''));
  }
  for (const text of samples) {
    const encoded = encodeQuotedPrintable(text);
    assert.equal(decodeQuotedPrintable(encoded), text, JSON.stringify(text));
    for (const line of encoded.split('\r\n')) {
      assert.ok(line.length <= 76, JSON.stringify(line));
      assert.ok(!/[ \t]$/.test(line), JSON.stringify(line));
      assert.ok(/^[\x21-\x7e \t]*$/.test(line));
    }
  }
  assert.equal(decodeQuotedPrintable(encodeQuotedPrintable('line one\r\nline two')), 'line one\r\nline two');
});

test('RFC 2047 encoded-words keep characters whole and decode back to the text', () => {
  for (const text of ['jürgen@münchen.example', 'Chat 日本語 / 😀😀😀😀😀😀😀😀😀😀😀😀😀😀 2026-03-02', 'a_b=c?d', ' ']) {
    const words = encodedWords(text);
    for (const w of words) {
      assert.ok(w.length <= 75);
      assert.ok(Buffer.from(decodeHeader(w), 'utf8').toString('utf8') === decodeHeader(w), 'no split character');
    }
    assert.equal(decodeHeader(words.join(' ')), text);
  }
});

// Python's email package is an independent RFC 5322/MIME implementation; CI installs python3.
const python = spawnSync('python3', ['-c', 'import email.policy'], { encoding: 'utf8' });
const hasPython = python.status === 0;
const skip = !hasPython && !process.env.PARLEY_REQUIRE_REAL_PARTS ? 'python3 is not installed' : false;

const PYTHON_READER = `
import email, email.policy, json, sys
out = []
for name in sys.argv[1:]:
    with open(name, 'rb') as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    out.append({
        'defects': [type(d).__name__ for d in msg.defects] + [type(d).__name__ for p in msg.walk() for d in p.defects],
        'from': [a.addr_spec for a in msg['From'].addresses],
        'to': [[a.display_name, a.addr_spec] for a in msg['To'].addresses],
        'subject': str(msg['Subject']),
        'date': msg['Date'].datetime.isoformat(),
        'message_id': str(msg['Message-ID']),
        'records': str(msg['X-Parley-Records']),
        'content_type': msg.get_content_type(),
        'charset': msg.get_content_charset(),
        'body': msg.get_content(),
    })
print(json.dumps(out))
`;

test('python\'s email package reads every e-mail without defects and finds the same text', { skip }, async (t) => {
  assert.ok(hasPython, 'python3 must be installed');
  const records = corpus(t);
  const dir = tmpDir(t);
  await exportRecords(records, dir, INFO);
  const names = fs.readdirSync(path.join(dir, 'eml')).sort();
  const run = spawnSync('python3', ['-c', PYTHON_READER, ...names.map((n) => path.join(dir, 'eml', n))], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const parsed = JSON.parse(run.stdout) as { defects: string[]; from: string[]; to: string[][]; subject: string; date: string; message_id: string; records: string; content_type: string; charset: string; body: string }[];
  const ours = [...readMails(dir).values()];
  assert.equal(parsed.length, names.length);
  parsed.forEach((p, i) => {
    const mine = ours[i]!;
    assert.deepEqual(p.defects, [], names[i]);
    assert.equal(p.content_type, 'text/plain');
    assert.equal(p.charset, 'utf-8');
    assert.equal(p.subject, mine.headers.get('subject'));
    assert.equal(p.records, mine.headers.get('x-parley-records'));
    assert.equal(p.message_id, mine.headers.get('message-id'));
    assert.equal(p.body.replace(/\n/g, '\r\n'), mine.body, 'python decodes the same transcript');
    assert.match(p.date, /^2026-03-0[23]T\d\d:\d\d:\d\d\+00:00$/);
    const ids = p.records.split(', ');
    for (const r of records.filter((x) => ids.includes(x.id))) assert.ok(p.body.includes(asTranscript(r.body).replace(/\r\n/g, '\n')), r.id);
  });
  const jurgen = parsed.find((p) => p.subject.includes('jürgen'))!;
  assert.deepEqual(jurgen.to.map(([name]) => name), [JURGEN]);
  assert.deepEqual(parsed.find((p) => p.subject === `Room ${DESK} 2026-03-02`)!.to.map(([, addr]) => addr), [DESK, DAVE]);
});
