import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { openArchiveDb, archiveMessage, type TestMessage } from '../../test/kit/archive.js';
import { ArchiveStore } from './store.js';
import type { ArchiveRecord, RecordInput } from './record.js';
import { compileSearch, ftsQuery, searchRecords, SearchQueryError } from './search.js';
import type { SearchQuery } from './service.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const CAROL = 'carol@example.com';
const DAVE = 'dave@example.com';
const TRADER = 'trader@partner.example';
const EVE = 'eve@gmail.example';
const DESK = 'desk@rooms.example.com';
const DAY1 = Date.UTC(2026, 2, 2);
const DAY2 = Date.UTC(2026, 2, 3);
const at = (day: number, h: number, m = 0) => day + (h * 60 + m) * 60_000;

type Message = TestMessage;
const message = archiveMessage;

/**
 * A trading desk's day and the next morning: chats, a partner and an external contact, a room
 * with a blocked message, and a seal entry of the chain itself.
 */
function corpus(t: TestContext) {
  const { db, dir } = openArchiveDb();
  t.after(() => { db.close(); fs.rmSync(dir, { recursive: true, force: true }); });
  const store = new ArchiveStore(db);
  const inputs: RecordInput[] = [
    message({ from: `${ALICE}/desk`, to: BOB, body: 'The quarterly numbers for Project X are ready', ts: at(DAY1, 9) }),
    message({ from: `${BOB}/phone`, to: ALICE, body: 'Thanks. Send the card details later', ts: at(DAY1, 9, 5) }),
    message({ from: `${ALICE}/desk`, to: TRADER, body: 'Zürich: Gewinnwarnung morgen früh, bitte still halten', ts: at(DAY1, 10), direction: 'partner' }),
    message({ from: `${CAROL}/laptop`, to: DESK, type: 'groupchat', body: 'Morning all: the visa card AND the amex are capped', ts: at(DAY1, 11) }),
    message({
      from: `${DAVE}/laptop`, to: DESK, type: 'groupchat', body: 'Here is the insider tip on ACME', ts: at(DAY1, 11, 30),
      outcome: 'blocked', decision: JSON.stringify({ condition: 'policy-violation', text: 'insider information' }),
    }),
    message({ from: `${ALICE}/desk`, to: EVE, body: 'The projector in room 4 is broken', ts: at(DAY1, 23, 59), direction: 'external' }),
    message({ from: `${BOB}/phone`, to: ALICE, body: 'Project X kickoff moved to Friday', subject: 'Schedule', ts: DAY2 }),
  ];
  const records = store.append(inputs.map((record) => ({ record, views: [] })));
  const seal: RecordInput = { ...message({ from: '', to: '', body: '', ts: at(DAY2, 0, 5) }), kind: 'seal', meta: '{"day":"2026-03-01"}' };
  store.append([{ record: seal, views: [] }]);
  store.indexPending();
  const byBody = (prefix: string) => records.find((r) => r.body.startsWith(prefix))!.seq;
  const search = (q: SearchQuery) => searchRecords(db, q).map((r) => r.seq);
  return { db, records, byBody, search };
}

const seqs = (records: ArchiveRecord[]) => records.map((r) => r.seq);

test('a search without filters returns every message in chain order, without the chain\'s own entries', (t) => {
  const { db, records } = corpus(t);
  const found = searchRecords(db, {});
  assert.deepEqual(seqs(found), seqs(records));
  assert.ok(found.every((r) => r.kind === 'message'));
  assert.deepEqual(found[0], records[0], 'a found record carries every column, hashes included');
});

test('a participant matches as sender or recipient, and a room\'s JID matches every message in the room', (t) => {
  const { search, byBody } = corpus(t);
  assert.deepEqual(search({ participants: [BOB] }), [byBody('The quarterly'), byBody('Thanks'), byBody('Project X kickoff')]);
  assert.deepEqual(search({ participants: [TRADER, EVE] }), [byBody('Zürich'), byBody('The projector')]);
  assert.deepEqual(search({ participants: [DESK] }), [byBody('Morning'), byBody('Here is')]);
  assert.deepEqual(search({ participants: [DAVE] }), [byBody('Here is')]);
});

test('participants are compared as prepared bare JIDs, so case and resources do not hide messages', (t) => {
  const { search, byBody } = corpus(t);
  assert.deepEqual(search({ participants: ['Trader@PARTNER.example/Terminal 3'] }), [byBody('Zürich')]);
});

test('an empty participant list matches nothing rather than everyone', (t) => {
  const { search } = corpus(t);
  assert.deepEqual(search({ participants: [] }), []);
});

test('a room search returns that room\'s messages only, blocked ones included by default', (t) => {
  const { search, byBody } = corpus(t);
  assert.deepEqual(search({ room: DESK }), [byBody('Morning'), byBody('Here is')]);
  assert.deepEqual(search({ room: 'other@rooms.example.com' }), []);
});

test('includeBlocked: false leaves out what policy blocked or dropped', (t) => {
  const { search, byBody } = corpus(t);
  assert.deepEqual(search({ room: DESK, includeBlocked: false }), [byBody('Morning')]);
});

test('the time range is inclusive at both ends', (t) => {
  const { search, byBody } = corpus(t);
  assert.deepEqual(search({ start: at(DAY1, 9, 5), end: at(DAY1, 11) }), [byBody('Thanks'), byBody('Zürich'), byBody('Morning')]);
  assert.deepEqual(search({ start: at(DAY1, 23, 59) }), [byBody('The projector'), byBody('Project X kickoff')], 'across midnight');
  assert.deepEqual(search({ end: at(DAY1, 9) }), [byBody('The quarterly')]);
  assert.deepEqual(search({ start: at(DAY1, 12), end: at(DAY1, 13) }), []);
});

test('keywords: plain words are ANDed, case and accents do not matter, subjects are searched too', (t) => {
  const { search, byBody } = corpus(t);
  assert.deepEqual(search({ keywords: 'project ready' }), [byBody('The quarterly')]);
  assert.deepEqual(search({ keywords: 'ZURICH gewinnwarnung' }), [byBody('Zürich')]);
  assert.deepEqual(search({ keywords: 'schedule' }), [byBody('Project X kickoff')]);
  assert.deepEqual(search({ keywords: 'card' }), [byBody('Thanks'), byBody('Morning')]);
});

test('keywords: "quoted phrases", prefix*, OR and exclusions', (t) => {
  const { search, byBody } = corpus(t);
  assert.deepEqual(search({ keywords: '"project x"' }), [byBody('The quarterly'), byBody('Project X kickoff')]);
  assert.deepEqual(search({ keywords: '"x project"' }), []);
  assert.deepEqual(search({ keywords: 'proj*' }), [byBody('The quarterly'), byBody('The projector'), byBody('Project X kickoff')]);
  assert.deepEqual(search({ keywords: 'visa OR thanks' }), [byBody('Thanks'), byBody('Morning')]);
  assert.deepEqual(search({ keywords: 'card NOT amex' }), [byBody('Thanks')]);
  assert.deepEqual(search({ keywords: 'card -amex' }), [byBody('Thanks')]);
  assert.deepEqual(search({ keywords: 'card "AND"' }), [byBody('Morning')], 'a quoted operator is a word');
});

test('hostile keyword text is searched as words and never reaches FTS5 as syntax', (t) => {
  const { search, byBody } = corpus(t);
  assert.deepEqual(search({ keywords: 'Project X"' }), [byBody('The quarterly'), byBody('Project X kickoff')]);
  assert.deepEqual(search({ keywords: 'card AND' }), [byBody('Thanks'), byBody('Morning')]);
  assert.deepEqual(search({ keywords: 'OR card' }), [byBody('Thanks'), byBody('Morning')]);
  assert.deepEqual(search({ keywords: 'insider NOT' }), [byBody('Here is')]);
  assert.deepEqual(search({ keywords: 'body:insider' }), [], 'no column filters: "body insider" is not a phrase in any message');
  assert.deepEqual(search({ keywords: 'insider\u0000tip' }), [byBody('Here is')]);
  const hostile = [
    '"', '""', '"""', 'a"b"c', '(', ')', '(card', 'card)', 'NEAR(card visa)', 'NEAR', '{body}: card', 'card:',
    '^card', 'card^', '+card', 'card -', '- card', 'card * visa', '"card"*"visa"', '\\', "'", 'card\'s', '\u0000',
    'card\u0000"', '\uD800card', 'Ω≈ç√∫', '😀 card', 'AND OR NOT card', 'card OR', 'OR', `${'x'.repeat(5000)} card`,
  ];
  for (const keywords of hostile) {
    try {
      const found = search({ keywords });
      assert.ok(Array.isArray(found));
    } catch (err) {
      assert.ok(err instanceof SearchQueryError, `${JSON.stringify(keywords)} threw ${(err as Error).message}`);
    }
  }
});

test('keywords with nothing to look for are refused with a clear error, not answered with no records', (t) => {
  const { search } = corpus(t);
  for (const keywords of ['*', '"!!!"', 'NOT visa', '-visa', 'AND OR']) {
    assert.throws(() => search({ keywords }), SearchQueryError, keywords);
  }
  assert.equal(search({ keywords: '   ' }).length, 7, 'blank keywords are no filter');
});

test('the FTS5 expression quotes every term and writes the only operators', () => {
  assert.equal(ftsQuery('Project X"'), '"Project" AND "X"');
  assert.equal(ftsQuery('a"b'), '"a" AND "b"');
  assert.equal(ftsQuery('proj* "big deal"*'), '"proj"* AND "big deal"*');
  assert.equal(ftsQuery('card OR visa amex NOT "wire transfer" -swift'), '(("card" OR "visa") AND "amex") NOT ("wire transfer" OR "swift")');
  assert.equal(ftsQuery('-"a b" c'), '("c") NOT ("a b")');
});

test('direction narrows to internal, external or partner messages', (t) => {
  const { search, byBody } = corpus(t);
  assert.deepEqual(search({ direction: 'partner' }), [byBody('Zürich')]);
  assert.deepEqual(search({ direction: 'external' }), [byBody('The projector')]);
  assert.equal(search({ direction: 'internal' }).length, 5);
});

test('filters combine', (t) => {
  const { search, byBody } = corpus(t);
  assert.deepEqual(search({ participants: [ALICE], keywords: 'project', start: DAY2 }), [byBody('Project X kickoff')]);
  assert.deepEqual(search({ participants: [ALICE], direction: 'internal', end: at(DAY1, 12) }), [byBody('The quarterly'), byBody('Thanks')]);
});

test('limit returns the first records in chain order and is refused outside 1 to 100000', (t) => {
  const { search, records } = corpus(t);
  assert.deepEqual(search({ limit: 2 }), seqs(records).slice(0, 2));
  assert.equal(search({ limit: 100_000 }).length, 7);
  for (const limit of [0, -1, 1.5, 100_001, Number.NaN]) assert.throws(() => search({ limit }), SearchQueryError, String(limit));
});

test('invalid JIDs, times and directions are refused before any SQL runs', (t) => {
  const { search } = corpus(t);
  assert.throws(() => search({ participants: ['not a jid@'] }), SearchQueryError);
  assert.throws(() => search({ room: '@rooms.example.com' }), SearchQueryError);
  assert.throws(() => search({ start: Number.POSITIVE_INFINITY }), SearchQueryError);
  assert.throws(() => search({ end: 9e15 }), SearchQueryError);
  assert.throws(() => search({ direction: 'sideways' as 'internal' }), SearchQueryError);
});

test('searches use the indexes: no filter that has one scans the records table', (t) => {
  const { db } = corpus(t);
  const plan = (q: SearchQuery) => {
    const { sql, params } = compileSearch(q)!;
    return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
  };
  const scansRecords = (details: string[]) => details.some((d) => /^SCAN records\b(?!_fts)/.test(d));
  assert.ok(scansRecords(plan({})), 'the probe itself sees a full scan');
  for (const q of [
    { keywords: 'card visa' }, { participants: [ALICE, BOB] }, { room: DESK }, { start: DAY1, end: DAY2 },
    { keywords: 'card', direction: 'internal', includeBlocked: false }, { participants: [ALICE], keywords: 'project' },
  ] as SearchQuery[]) {
    const details = plan(q);
    assert.ok(!scansRecords(details), `${JSON.stringify(q)}: ${details.join(' | ')}`);
  }
  assert.ok(plan({ keywords: 'card' }).some((d) => /records_fts/.test(d)));
});
