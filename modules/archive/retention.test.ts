import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { openArchiveDb } from '../../test/kit/archive.js';
import { archiveConfig } from './config.js';
import { placeHold, releaseHold } from './holds.js';
import { GENESIS_HASH, recordHash, type PurgeMeta } from './record.js';
import { purgeExpired, retentionRule, type RetentionRule } from './retention.js';
import { loadOrCreateSigner, verifySignature, type ArchiveSigner } from './signing.js';
import { ArchiveStore, type PendingEntry } from './store.js';

const retentionOf = (retention: Record<string, unknown>) => archiveConfig.parse({ retention }).retention;
const directory = (groups: Record<string, string[]>) => ({ groupsOf: (bare: string) => groups[bare] ?? [] });
const at = (iso: string) => Date.parse(iso);

function setup(): { store: ArchiveStore; signer: ArchiveSigner } {
  const { db, dir } = openArchiveDb();
  return { store: new ArchiveStore(db), signer: loadOrCreateSigner(path.join(dir, 'keys', 'signing-key.pem')) };
}

/** A chat message between two local accounts, stamped by the retention rule as capture would. */
function message(rule: RetentionRule, iso: string, from: string, to: string, body: string): PendingEntry {
  const ts = at(iso);
  return {
    record: {
      id: randomUUID(), ts, kind: 'message', type: 'chat', sender: `${from}/desk`, sender_bare: from, recipient: to, recipient_bare: to,
      room: '', direction: 'internal', outcome: 'allowed', decision: '', body, subject: '', thread: '',
      stanza: `<message type="chat" to="${to}"><body>${body}</body></message>`, delivered: '',
      retain_until: rule(ts, [from, to]), meta: '', signature: '',
    },
    views: [{ owner: from, with_jid: to }, { owner: to, with_jid: from }],
  };
}

/**
 * Walk the whole chain as an auditor would: every record matches its hash and links to the one
 * before, and every gap is tiled by purge ranges whose hashes link the records on both sides.
 */
function assertChainAcrossGaps(store: ArchiveStore, ranges: PurgeMeta['ranges']): void {
  const byFirst = new Map(ranges.map((r) => [r.first, r]));
  let prev = { seq: 0, hash: GENESIS_HASH };
  for (const r of store.iterate()) {
    while (r.seq !== prev.seq + 1) {
      const gap = byFirst.get(prev.seq + 1);
      assert.ok(gap, `records ${prev.seq + 1}..${r.seq - 1} are missing without a purge range`);
      assert.equal(gap.prev_hash, prev.hash, `range ${gap.first}..${gap.last} links to record ${prev.seq}`);
      prev = { seq: gap.last, hash: gap.last_hash };
    }
    assert.equal(r.prev_hash, prev.hash, `record ${r.seq} links across the gap`);
    assert.equal(recordHash(r), r.hash, `record ${r.seq} matches its hash`);
    prev = r;
  }
}

const searchSeqs = (store: ArchiveStore, words: string) =>
  (store.db.prepare('SELECT rowid FROM records_fts WHERE records_fts MATCH ? ORDER BY rowid').all(words) as { rowid: number }[]).map((r) => r.rowid);
const viewRows = (store: ArchiveStore, first: number, last: number) =>
  (store.db.prepare('SELECT count(*) AS n FROM parties WHERE shown = 1 AND seq BETWEEN ? AND ?').get(first, last) as { n: number }).n;
const purgeMeta = (store: ArchiveStore, seq: number) => JSON.parse(store.bySeq(seq)!.meta) as PurgeMeta;

test('retain_until is the day after the message\'s day plus the default period, in calendar years', () => {
  const rule = retentionRule(retentionOf({ default: '7y' }));
  assert.equal(rule(at('2018-03-01T23:59:00Z'), ['alice@example.com']), '2025-03-02');
  assert.equal(rule(at('2018-03-01T00:00:00Z'), []), '2025-03-02');
});

test('a period that is not whole days is rounded up, so records expire by whole days', () => {
  const rule = retentionRule(retentionOf({ default: '36h' }));
  assert.equal(rule(at('2018-03-01T12:00:00Z'), ['alice@example.com']), '2018-03-04');
});

test('a group rule beats the default, and the longest period of any participant wins', () => {
  const rule = retentionRule(retentionOf({ default: '1y', groups: { Traders: '10y' } }), directory({ 'erin@example.com': ['traders'] }));
  assert.equal(rule(at('2018-01-12T10:00:00Z'), ['alice@example.com']), '2019-01-13');
  assert.equal(rule(at('2018-01-12T10:00:00Z'), ['alice@example.com', 'Erin@Example.com']), '2028-01-13');
});

test('a domain rule overrides the default, and a group rule overrides the domain rule', () => {
  const rule = retentionRule(retentionOf({ default: '7y', domains: { 'Partner.example': '90d' }, groups: { legal: '1y' } }),
    directory({ 'lee@partner.example': ['Legal'] }));
  assert.equal(rule(at('2018-01-01T08:00:00Z'), ['pat@partner.example/phone']), '2018-04-02');
  assert.equal(rule(at('2018-01-01T08:00:00Z'), ['lee@partner.example']), '2019-01-02');
  assert.equal(rule(at('2018-01-01T08:00:00Z'), ['pat@partner.example', 'alice@example.com']), '2025-01-02');
});

test('an expired day is purged, a held day and an unexpired one are kept, and the held day goes after release', () => {
  const { store, signer } = setup();
  const rule = retentionRule(retentionOf({ default: '365d', groups: { Traders: '10y' } }), directory({ 'erin@example.com': ['Traders'] }));
  const [a1, , a3] = store.append([
    message(rule, '2018-01-10T09:00:00Z', 'alice@example.com', 'bob@example.com', 'quarterly forecast'),
    message(rule, '2018-01-10T09:01:00Z', 'bob@example.com', 'alice@example.com', 'thanks'),
    message(rule, '2018-01-10T17:30:00Z', 'alice@example.com', 'bob@example.com', 'see you tomorrow'),
  ]);
  const [c1, , c3] = store.append([
    message(rule, '2018-01-11T10:00:00Z', 'carol@example.com', 'dave@example.com', 'merger rumours'),
    message(rule, '2018-01-11T10:05:00Z', 'dave@example.com', 'carol@example.com', 'not on chat'),
    message(rule, '2018-01-11T11:00:00Z', 'carol@example.com', 'dave@example.com', 'call me'),
  ]);
  const [trader] = store.append([message(rule, '2018-01-12T10:00:00Z', 'erin@example.com', 'alice@example.com', 'block trade')]);
  const [recent] = store.append([message(rule, '2019-02-01T10:00:00Z', 'alice@example.com', 'bob@example.com', 'fresh news')]);
  const hold = placeHold(store, { name: 'SEC inquiry 2019-7', jids: ['carol@example.com'], placedBy: 'os:compliance' });

  const first = purgeExpired(store, signer, { today: '2019-03-01', now: at('2019-03-01T03:00:00Z') });

  assert.deepEqual(first.days, ['2018-01-10']);
  assert.equal(first.count, 3);
  assert.deepEqual(first.held, [hold.id]);
  for (const r of [a1!, a3!]) assert.equal(store.bySeq(r.seq), undefined);
  for (const r of [c1!, c3!, trader!, recent!]) assert.ok(store.bySeq(r.seq), `record ${r.seq} is kept`);
  assert.deepEqual(searchSeqs(store, 'forecast'), []);
  assert.deepEqual(searchSeqs(store, 'merger'), [c1!.seq]);
  assert.equal(viewRows(store, a1!.seq, a3!.seq), 0);
  assert.equal(viewRows(store, c1!.seq, c3!.seq), 6);

  const entry = first.entry!;
  assert.equal(entry.kind, 'purge');
  assert.equal(entry.retain_until, '');
  assert.ok(verifySignature(signer.publicKey, entry.meta, entry.signature), 'the purge entry is signed');
  const meta = purgeMeta(store, entry.seq);
  assert.deepEqual(meta.ranges, [{ first: a1!.seq, last: a3!.seq, prev_hash: GENESIS_HASH, last_hash: a3!.hash }]);
  assert.equal(store.bySeq(a3!.seq + 1)!.prev_hash, meta.ranges[0]!.last_hash);
  assertChainAcrossGaps(store, meta.ranges);

  releaseHold(store, hold.id, 'os:compliance');
  const second = purgeExpired(store, signer, { today: '2019-03-01' });

  assert.deepEqual(second.days, ['2018-01-11']);
  assert.equal(second.count, 3);
  assert.deepEqual(second.held, []);
  assert.deepEqual(searchSeqs(store, 'merger'), []);
  assert.equal(viewRows(store, c1!.seq, c3!.seq), 0);
  assert.ok(store.bySeq(trader!.seq) && store.bySeq(recent!.seq), 'the trader\'s 10-year record and the recent one are kept');
  assertChainAcrossGaps(store, [...meta.ranges, ...purgeMeta(store, second.entry!.seq).ranges]);
  store.db.prepare("INSERT INTO records_fts (records_fts) VALUES ('integrity-check')").run();
});

test('nothing due means no purge entry and no change to the chain', () => {
  const { store, signer } = setup();
  const rule = retentionRule(retentionOf({ default: '365d' }));
  store.append([message(rule, '2019-02-01T10:00:00Z', 'alice@example.com', 'bob@example.com', 'fresh news')]);
  const head = store.head();

  const result = purgeExpired(store, signer, { today: '2019-03-01' });

  assert.deepEqual(result, { days: [], count: 0, held: [], entry: null });
  assert.deepEqual(store.head(), head);
});

test('a hold on part of a day keeps just those records, and the purge ranges split around them', () => {
  const { store, signer } = setup();
  const rule = retentionRule(retentionOf({ default: '365d' }));
  const day = store.append(['08', '09', '10', '11', '12'].map((h) =>
    message(rule, `2018-01-10T${h}:00:00Z`, 'alice@example.com', 'bob@example.com', `update ${h}`)));
  const hold = placeHold(store, { name: 'Trade 10:00', jids: ['bob@example.com'], start: at('2018-01-10T09:30:00Z'), end: at('2018-01-10T10:30:00Z'), placedBy: 'os:compliance' });

  const result = purgeExpired(store, signer, { today: '2019-03-01' });

  assert.equal(result.count, 4);
  assert.deepEqual(result.held, [hold.id]);
  assert.deepEqual([...store.iterate()].filter((r) => r.kind === 'message').map((r) => r.body), ['update 10']);
  const meta = purgeMeta(store, result.entry!.seq);
  assert.deepEqual(meta.ranges.map((g) => [g.first, g.last]), [[day[0]!.seq, day[1]!.seq], [day[3]!.seq, day[4]!.seq]]);
  assertChainAcrossGaps(store, meta.ranges);
});

test('with requireSealed only sealed days are purged', () => {
  const { store, signer } = setup();
  const rule = retentionRule(retentionOf({ default: '365d' }));
  const [sealed] = store.append([message(rule, '2018-01-10T09:00:00Z', 'alice@example.com', 'bob@example.com', 'sealed day')]);
  const [unsealed] = store.append([message(rule, '2018-01-11T09:00:00Z', 'alice@example.com', 'bob@example.com', 'open day')]);
  store.db.prepare("INSERT INTO segments (day, file, sha256, first_seq, last_seq, count, sealed_at) VALUES ('2018-01-10', 'archive-2018-01-10.jsonl.gz', '', 1, 1, 1, 0)").run();

  const result = purgeExpired(store, signer, { today: '2019-03-01', requireSealed: true });

  assert.deepEqual(result.days, ['2018-01-10']);
  assert.equal(store.bySeq(sealed!.seq), undefined);
  assert.ok(store.bySeq(unsealed!.seq));
});

test('the chain\'s own entries are never purged', () => {
  const { store, signer } = setup();
  const rule = retentionRule(retentionOf({ default: '1d' }));
  store.append([message(rule, '2018-01-10T09:00:00Z', 'alice@example.com', 'bob@example.com', 'short lived')]);
  const first = purgeExpired(store, signer, { today: '2018-01-12', now: at('2018-01-12T00:00:00Z') });

  const again = purgeExpired(store, signer, { today: '2030-01-01' });

  assert.equal(again.entry, null);
  assert.ok(store.bySeq(first.entry!.seq));
});

test('a purge date that is not a day is refused', () => {
  const { store, signer } = setup();
  assert.throws(() => purgeExpired(store, signer, { today: '1 March 2019' }), RangeError);
});
