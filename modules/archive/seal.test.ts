import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openArchiveDb } from '../../test/kit/archive.js';
import { recordHash, type SealMeta } from './record.js';
import { purgeExpired } from './retention.js';
import { readSegmentRecords, sealDays, sealMetaText, SegmentConflictError, verifySegments, type SealSignatureFile } from './seal.js';
import { loadOrCreateSigner, verifySignature, type ArchiveSigner } from './signing.js';
import { ArchiveStore } from './store.js';

const at = (iso: string) => Date.parse(iso);
const NOW = at('2019-03-01T01:00:00Z');

interface Fixture { store: ArchiveStore; signer: ArchiveSigner; dir: string; segments: string; dbFile: string }

function setup(): Fixture {
  const { db, dir, file } = openArchiveDb();
  return { store: new ArchiveStore(db), signer: loadOrCreateSigner(path.join(dir, 'keys', 'signing-key.pem')), dir, segments: path.join(dir, 'segments'), dbFile: file };
}

function append(store: ArchiveStore, iso: string, body: string): number {
  const [r] = store.append([{
    record: {
      id: randomUUID(), ts: at(iso), kind: 'message', type: 'chat', sender: 'alice@example.com/desk', sender_bare: 'alice@example.com',
      recipient: 'bob@example.com', recipient_bare: 'bob@example.com', room: '', direction: 'internal', outcome: 'allowed', decision: '',
      body, subject: '', thread: '', stanza: `<message><body>${body}</body></message>`, delivered: '', retain_until: '2025-01-01', meta: '', signature: '',
    },
    views: [{ owner: 'alice@example.com', with_jid: 'bob@example.com' }],
  }]);
  return r!.seq;
}

/** Two days of January 2018 and one of February 2019. */
function twoDays(f: Fixture): void {
  append(f.store, '2018-01-10T09:00:00Z', 'good morning');
  append(f.store, '2018-01-10T17:00:00Z', 'good night');
  append(f.store, '2018-01-11T09:00:00Z', 'next day');
  append(f.store, '2019-02-28T09:00:00Z', 'yesterday');
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function makeWritable(file: string): void {
  fs.chmodSync(file, 0o640);
}

test('each closed day is written to a gzip file with a signature file, listed in segments and sealed in the chain', () => {
  const f = setup();
  twoDays(f);

  const sealed = sealDays(f.store, f.signer, f.segments, { before: '2018-01-12', now: NOW });

  assert.deepEqual(sealed.map((s) => [s.day, s.first_seq, s.last_seq, s.count]), [['2018-01-10', 1, 2, 2], ['2018-01-11', 3, 3, 1]]);
  for (const meta of sealed) {
    const file = path.join(f.segments, meta.file);
    assert.equal(sha256(file), meta.sha256);
    const records = readSegmentRecords(file);
    assert.deepEqual(records, [...f.store.iterate(meta.first_seq, meta.last_seq)], 'the file holds every column of the day\'s records');
    for (const r of records) assert.equal(recordHash(r), r.hash);

    const sig = JSON.parse(fs.readFileSync(path.join(f.segments, `archive-${meta.day}.sig.json`), 'utf8')) as SealSignatureFile;
    assert.equal(sealMetaText(sig), sealMetaText(meta));
    assert.equal(sig.ts, NOW);
    assert.ok(verifySignature(f.signer.publicKey, sealMetaText(meta), sig.signature));

    const entry = [...f.store.iterate()].find((r) => r.kind === 'seal' && (JSON.parse(r.meta) as SealMeta).day === meta.day)!;
    assert.equal(entry.meta, sealMetaText(meta));
    assert.ok(verifySignature(f.signer.publicKey, entry.meta, entry.signature));
  }
  const rows = f.store.db.prepare('SELECT day, file, sha256 FROM segments ORDER BY day').all();
  assert.deepEqual(rows, sealed.map((s) => ({ day: s.day, file: s.file, sha256: s.sha256 })));
  assert.deepEqual(fs.readdirSync(f.segments).sort(), [
    'archive-2018-01-10.jsonl.gz', 'archive-2018-01-10.sig.json', 'archive-2018-01-11.jsonl.gz', 'archive-2018-01-11.sig.json',
  ], 'no temp files are left');
  assert.deepEqual(verifySegments(f.store, f.signer.publicKey, f.segments), []);
});

test('sealing again seals only the new closed days', () => {
  const f = setup();
  twoDays(f);
  sealDays(f.store, f.signer, f.segments, { before: '2018-01-12', now: NOW });

  assert.deepEqual(sealDays(f.store, f.signer, f.segments, { before: '2018-01-12', now: NOW }), []);
  const later = sealDays(f.store, f.signer, f.segments, { before: '2019-03-01', now: NOW });

  assert.deepEqual(later.map((s) => s.day), ['2019-02-28']);
  assert.deepEqual(verifySegments(f.store, f.signer.publicKey, f.segments), []);
});

test('a day that is still open cannot be sealed', () => {
  const f = setup();
  twoDays(f);
  assert.throws(() => sealDays(f.store, f.signer, f.segments, { before: '2019-03-02', now: NOW }), RangeError);
});

test('verify finds a segment file with a flipped byte', () => {
  const f = setup();
  twoDays(f);
  const [meta] = sealDays(f.store, f.signer, f.segments, { before: '2018-01-12', now: NOW });
  const file = path.join(f.segments, meta!.file);
  makeWritable(file);
  const bytes = fs.readFileSync(file);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  fs.writeFileSync(file, bytes);

  const problems = verifySegments(f.store, f.signer.publicKey, f.segments);

  assert.ok(problems.length > 0);
  assert.ok(problems.every((p) => p.kind === 'segment' && p.message.startsWith('segment 2018-01-10:')), JSON.stringify(problems));
  assert.ok(problems.some((p) => p.message.includes('SHA-256 differs')));
});

test('verify finds a record edited in the database after its day was sealed', () => {
  const f = setup();
  twoDays(f);
  sealDays(f.store, f.signer, f.segments, { before: '2018-01-12', now: NOW });

  f.store.db.prepare("UPDATE records SET body = 'good evening' WHERE seq = 2").run();

  assert.deepEqual(verifySegments(f.store, f.signer.publicKey, f.segments), [
    { kind: 'segment', seq: 2, message: 'segment 2018-01-10: record differs from its sealed copy (body)' },
  ]);
});

test('verify finds a record of a sealed day added after sealing, a forged signature file and a file nobody sealed', () => {
  const f = setup();
  twoDays(f);
  sealDays(f.store, f.signer, f.segments, { before: '2018-01-12', now: NOW });
  const late = append(f.store, '2018-01-11T23:59:00Z', 'late');
  const sigFile = path.join(f.segments, 'archive-2018-01-10.sig.json');
  const sig = JSON.parse(fs.readFileSync(sigFile, 'utf8')) as SealSignatureFile;
  makeWritable(sigFile);
  fs.writeFileSync(sigFile, JSON.stringify({ ...sig, signature: Buffer.alloc(64).toString('base64') }));
  fs.copyFileSync(path.join(f.segments, 'archive-2018-01-11.jsonl.gz'), path.join(f.segments, 'archive-2017-12-31.jsonl.gz'));

  const problems = verifySegments(f.store, f.signer.publicKey, f.segments);

  assert.deepEqual(problems.map((p) => [p.kind, p.seq]), [['signature', undefined], ['segment', late], ['segment', undefined]]);
  assert.match(problems[2]!.message, /archive-2017-12-31\.jsonl\.gz is not a sealed segment/);
});

test('an existing segment file with other content is never overwritten', () => {
  const f = setup();
  twoDays(f);
  fs.mkdirSync(f.segments, { recursive: true });
  const squatter = path.join(f.segments, 'archive-2018-01-10.jsonl.gz');
  fs.writeFileSync(squatter, 'not a segment');

  assert.throws(() => sealDays(f.store, f.signer, f.segments, { before: '2018-01-12', now: NOW }), SegmentConflictError);

  assert.equal(fs.readFileSync(squatter, 'utf8'), 'not a segment');
  assert.deepEqual(f.store.db.prepare('SELECT day FROM segments').all(), []);
  assert.deepEqual([...f.store.iterate()].filter((r) => r.kind === 'seal'), []);
  assert.deepEqual(fs.readdirSync(f.segments), ['archive-2018-01-10.jsonl.gz'], 'no temp or signature file is left');
});

test('files left by a crash before the database commit are adopted when they are exactly what sealing writes', () => {
  const f = setup();
  twoDays(f);
  // The same records in another database: sealing it writes the files a crashed seal would have left.
  const copy = path.join(f.dir, 'copy.db');
  f.store.db.prepare('VACUUM INTO ?').run(copy);
  const crashed = new ArchiveStore(openArchiveDb(copy).db);
  sealDays(crashed, f.signer, f.segments, { before: '2018-01-11', now: NOW - 1000 });
  const leftBehind = sha256(path.join(f.segments, 'archive-2018-01-10.jsonl.gz'));

  const [meta] = sealDays(f.store, f.signer, f.segments, { before: '2018-01-11', now: NOW });

  assert.equal(meta!.sha256, leftBehind);
  assert.deepEqual(verifySegments(f.store, f.signer.publicKey, f.segments), []);
});

test('a sealed day that retention purged verifies: its file still holds the records the chain accounts for', () => {
  const f = setup();
  twoDays(f);
  sealDays(f.store, f.signer, f.segments, { before: '2018-01-12', now: NOW });

  const purged = purgeExpired(f.store, f.signer, { today: '2025-01-01', requireSealed: true, now: NOW });

  assert.deepEqual(purged.days, ['2018-01-10', '2018-01-11']);
  assert.equal(f.store.bySeq(1), undefined);
  assert.deepEqual(verifySegments(f.store, f.signer.publicKey, f.segments), []);
});
