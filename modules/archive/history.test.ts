import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { archiveMessage, openArchiveDb } from '../../test/kit/archive.js';
import { SCHEMA_ROOT } from '../../server/paths.js';
import { applyMigrations, openDatabaseFile } from '../../server/storage/database.js';
import { ArchiveStore } from './store.js';
import type { RecordInput, UserViewRow } from './record.js';
import { hideFromHistory, historyBounds, queryHistory } from './history.js';
import { HistoryIdNotFound, type HistoryQuery } from './service.js';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const CAROL = 'carol@example.com';

interface Sent { id: string; ts: number; body: string }

/** An archive file with a writer, and a helper that archives one chat message the way capture does. */
function archive() {
  const { db } = openArchiveDb();
  const store = new ArchiveStore(db);
  let clock = T0;
  const send = (from: string, to: string, body: string, opts: { type?: string; views?: UserViewRow[]; delivered?: string; ts?: number } = {}): Sent => {
    const ts = opts.ts ?? (clock += 1000);
    const fromBare = from.split('/')[0]!;
    const toBare = to.split('/')[0]!;
    const type = opts.type ?? 'chat';
    const record: RecordInput = {
      id: randomUUID(), ts, kind: 'message', type,
      sender: from, sender_bare: fromBare, recipient: to, recipient_bare: toBare,
      room: '', direction: 'internal', outcome: opts.delivered ? 'rewritten' : 'allowed', decision: '',
      body, subject: '', thread: '',
      stanza: `<message from="${from}" to="${to}" type="${type}"><body>${body}</body></message>`,
      delivered: opts.delivered ?? '', retain_until: '', meta: '', signature: '',
    };
    const views = opts.views ?? (fromBare === toBare ? [{ owner: fromBare, with_jid: fromBare }]
      : [{ owner: fromBare, with_jid: toBare }, { owner: toBare, with_jid: fromBare }]);
    store.append([{ record, views }]);
    store.indexPending();
    return { id: record.id, ts, body };
  };
  return { db, store, send };
}

const page = (db: ReturnType<typeof archive>['db'], q: Partial<HistoryQuery>) => queryHistory(db, { owner: BOB, max: 10, ...q });
const bodies = (p: { items: { stanza: string }[] }) => p.items.map((i) => /<body>(.*)<\/body>/.exec(i.stanza)![1]);

test('paging forward with after visits every message once, in order, and the last page is complete', () => {
  const { db, send } = archive();
  const sent = Array.from({ length: 25 }, (_, i) => send(i % 2 ? `${BOB}/desk` : `${ALICE}/phone`, i % 2 ? ALICE : BOB, `m${i}`));
  const seen: string[] = [];
  let after: string | undefined;
  const pages: boolean[] = [];
  for (let n = 0; n < 10; n++) {
    const p = page(db, { max: 10, after });
    assert.equal(p.count, 25);
    assert.equal(p.firstIndex, seen.length);
    seen.push(...p.items.map((i) => i.id));
    pages.push(p.complete);
    if (p.complete) break;
    after = p.items.at(-1)!.id;
  }
  assert.deepEqual(pages, [false, false, true]);
  assert.deepEqual(seen, sent.map((s) => s.id));
  // The stamp is the capture time.
  assert.equal(page(db, { max: 1 }).items[0]!.ts, sent[0]!.ts);
});

test('a full page that happens to end the result set is complete', () => {
  const { db, send } = archive();
  for (let i = 0; i < 10; i++) send(ALICE, BOB, `m${i}`);
  const p = page(db, { max: 10 });
  assert.equal(p.items.length, 10);
  assert.equal(p.complete, true);
});

test('paging backward from the last page keeps archive order inside each page', () => {
  const { db, send } = archive();
  const sent = Array.from({ length: 25 }, (_, i) => send(ALICE, BOB, `m${i}`));
  const last = page(db, { before: '' });
  assert.deepEqual(bodies(last), sent.slice(15).map((s) => s.body));
  assert.equal(last.firstIndex, 15);
  assert.equal(last.complete, false);
  const middle = page(db, { before: last.items[0]!.id });
  assert.deepEqual(bodies(middle), sent.slice(5, 15).map((s) => s.body));
  assert.equal(middle.firstIndex, 5);
  assert.equal(middle.complete, false);
  const first = page(db, { before: middle.items[0]!.id });
  assert.deepEqual(bodies(first), sent.slice(0, 5).map((s) => s.body));
  assert.equal(first.firstIndex, 0);
  assert.equal(first.complete, true);
});

test('index pages from an offset and max 0 counts only', () => {
  const { db, send } = archive();
  const sent = Array.from({ length: 12 }, (_, i) => send(ALICE, BOB, `m${i}`));
  const p = page(db, { index: 10, max: 5 });
  assert.deepEqual(p.items.map((i) => i.id), sent.slice(10).map((s) => s.id));
  assert.equal(p.firstIndex, 10);
  assert.equal(p.complete, true);
  const counted = page(db, { max: 0 });
  assert.deepEqual(counted.items, []);
  assert.equal(counted.count, 12);
  assert.equal(counted.complete, false);
  assert.equal(page(db, { index: 40 }).items.length, 0);
});

test('with a bare JID matches every resource of the contact; a full JID only that address', () => {
  const { db, send } = archive();
  send(`${ALICE}/phone`, BOB, 'from alice phone');
  send(`${CAROL}/pc`, BOB, 'from carol');
  send(`${BOB}/desk`, `${ALICE}/laptop`, 'to alice laptop');
  send(`${ALICE}/laptop`, `${BOB}/desk`, 'from alice laptop');
  assert.deepEqual(bodies(page(db, { with: ALICE })), ['from alice phone', 'to alice laptop', 'from alice laptop']);
  assert.equal(page(db, { with: ALICE }).count, 3);
  assert.deepEqual(bodies(page(db, { with: `${ALICE}/laptop` })), ['to alice laptop', 'from alice laptop']);
  assert.deepEqual(bodies(page(db, { with: CAROL })), ['from carol']);
  assert.deepEqual(page(db, { with: 'dave@example.com' }).items, []);
  assert.equal(page(db, { with: 'dave@example.com' }).complete, true);
});

test('start and end are inclusive capture times', () => {
  const { db, send } = archive();
  const sent = Array.from({ length: 6 }, (_, i) => send(ALICE, BOB, `m${i}`));
  const p = page(db, { start: sent[1]!.ts, end: sent[3]!.ts });
  assert.deepEqual(bodies(p), ['m1', 'm2', 'm3']);
  assert.equal(p.count, 3);
  assert.deepEqual(bodies(page(db, { start: sent[4]!.ts })), ['m4', 'm5']);
  assert.deepEqual(bodies(page(db, { end: sent[0]!.ts })), ['m0']);
  assert.deepEqual(page(db, { start: sent[5]!.ts + 1 }).items, []);
});

test('after-id and before-id bound the result set exclusively, and RSM pages inside it', () => {
  const { db, send } = archive();
  const sent = Array.from({ length: 10 }, (_, i) => send(ALICE, BOB, `m${i}`));
  const between = page(db, { afterId: sent[2]!.id, beforeId: sent[8]!.id });
  assert.deepEqual(bodies(between), ['m3', 'm4', 'm5', 'm6', 'm7']);
  assert.equal(between.count, 5);
  assert.equal(between.complete, true);
  const firstTwo = page(db, { afterId: sent[2]!.id, max: 2 });
  assert.deepEqual(bodies(firstTwo), ['m3', 'm4']);
  assert.equal(firstTwo.firstIndex, 0);
  const next = page(db, { afterId: sent[2]!.id, max: 2, after: firstTwo.items[1]!.id });
  assert.deepEqual(bodies(next), ['m5', 'm6']);
  assert.equal(next.firstIndex, 2);
  assert.equal(next.count, 7);
  // XEP-0313 implementation note: before-id does not page backwards, RSM before does.
  assert.deepEqual(bodies(page(db, { beforeId: sent[5]!.id, max: 2 })), ['m0', 'm1']);
  assert.deepEqual(bodies(page(db, { before: sent[5]!.id, max: 2 })), ['m3', 'm4']);
});

test('ids returns exactly those messages in archive order', () => {
  const { db, send } = archive();
  const sent = Array.from({ length: 5 }, (_, i) => send(ALICE, BOB, `m${i}`));
  const p = page(db, { ids: [sent[3]!.id, sent[1]!.id] });
  assert.deepEqual(bodies(p), ['m1', 'm3']);
  assert.equal(p.count, 2);
  assert.equal(p.complete, true);
});

test('an id the owner does not see is HistoryIdNotFound wherever it is used', () => {
  const { db, send } = archive();
  const mine = send(ALICE, BOB, 'for bob');
  const theirs = send(ALICE, CAROL, 'not for bob');
  for (const q of [{ after: theirs.id }, { before: theirs.id }, { afterId: 'nope' }, { beforeId: theirs.id }, { ids: [mine.id, 'nope'] }]) {
    assert.throws(() => page(db, q), (err: unknown) => err instanceof HistoryIdNotFound && err.id === (Object.values(q).flat().find((v) => v !== mine.id)), JSON.stringify(q));
  }
});

test('only the owner\'s view is read: another account\'s messages never appear', () => {
  const { db, send } = archive();
  send(ALICE, BOB, 'alice to bob');
  send(ALICE, CAROL, 'alice to carol');
  send(CAROL, ALICE, 'carol to alice');
  assert.deepEqual(bodies(page(db, {})), ['alice to bob']);
  assert.deepEqual(bodies(page(db, { owner: CAROL })), ['alice to carol', 'carol to alice']);
  assert.deepEqual(bodies(page(db, { owner: ALICE })), ['alice to bob', 'alice to carol', 'carol to alice']);
});

test('a message the recipient got rewritten is shown as delivered', () => {
  const { db, send } = archive();
  send(ALICE, BOB, 'original', { delivered: `<message from="${ALICE}" to="${BOB}" type="chat"><body>redacted</body></message>` });
  assert.deepEqual(bodies(page(db, {})), ['redacted']);
});

test('historyBounds gives the first and last message, or null for an empty history', () => {
  const { db, send } = archive();
  assert.equal(historyBounds(db, BOB), null);
  const a = send(ALICE, BOB, 'first');
  send(CAROL, ALICE, 'not bob');
  send(ALICE, BOB, 'middle');
  const c = send(BOB, ALICE, 'last');
  const bounds = historyBounds(db, BOB)!;
  assert.equal(bounds.first.id, a.id);
  assert.equal(bounds.first.ts, a.ts);
  assert.equal(bounds.last.id, c.id);
});

test('hideFromHistory changes the owner\'s view only: the records, the participants and the other side\'s view stay', () => {
  const { db, send } = archive();
  const sent = [send(ALICE, BOB, 'a1'), send(CAROL, BOB, 'c1'), send(ALICE, BOB, 'a2'), send(BOB, ALICE, 'b1')];
  assert.equal(hideFromHistory(db, BOB, { with: ALICE, end: sent[2]!.ts }), 2);
  assert.deepEqual(bodies(page(db, {})), ['c1', 'b1']);
  assert.deepEqual(bodies(page(db, { owner: ALICE })), ['a1', 'a2', 'b1']);
  const records = db.prepare("SELECT COUNT(*) AS n FROM records WHERE kind = 'message'").get() as { n: number };
  assert.equal(records.n, 4);
  // E-discovery still sees Bob as a participant of all four.
  const parties = db.prepare('SELECT COUNT(*) AS n FROM parties p JOIN jids j ON j.id = p.jid WHERE j.jid = ?').get(BOB) as { n: number };
  assert.equal(parties.n, 4);
  // A hidden id is gone from the owner's archive: paging from it is item-not-found.
  assert.throws(() => page(db, { after: sent[0]!.id }), HistoryIdNotFound);
  // Unknown ids are ignored; an empty filter empties the view.
  assert.equal(hideFromHistory(db, BOB, { ids: ['nope', sent[1]!.id] }), 1);
  assert.equal(hideFromHistory(db, BOB, { ids: ['nope'] }), 0);
  assert.equal(hideFromHistory(db, BOB, {}), 1);
  assert.equal(page(db, {}).count, 0);
  assert.equal(historyBounds(db, BOB), null);
  assert.equal(page(db, { owner: ALICE }).count, 3);
});

test('the page and count queries walk the view indexes instead of scanning or sorting', () => {
  const { db, send } = archive();
  send(ALICE, BOB, 'x');
  // Catch the SQL the functions prepare (a fresh database: nothing is cached yet), then ask SQLite how it runs it.
  const seen: string[] = [];
  const prepare = db.prepare.bind(db);
  (db as { prepare: typeof db.prepare }).prepare = ((sql: string) => { seen.push(sql); return prepare(sql); }) as typeof db.prepare;
  page(db, {});
  page(db, { with: ALICE });
  const numberOf = (jid: string) => (prepare('SELECT id FROM jids WHERE jid = ?').get(jid) as { id: number }).id;
  const params = { owner: numberOf(BOB), withBare: numberOf(ALICE), limit: 11, offset: 0 };
  // The statements that read the view (the others look up the JIDs' numbers in jids by its unique index).
  const plans = seen.filter((sql) => sql.includes('parties')).map((sql) => [sql, (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join('; ')]);
  assert.equal(plans.length, 4);
  for (const [sql, plan] of plans) {
    assert.doesNotMatch(plan!, /SCAN|TEMP B-TREE/, `${sql}\n${plan}`);
    if (sql!.includes('withBare')) assert.match(plan!, /SEARCH v USING (COVERING )?INDEX parties_with \(jid=\? AND with_jid=\? AND shown=\?\)/, plan);
    else assert.match(plan!, /SEARCH v USING (PRIMARY KEY|(COVERING )?INDEX parties_with) \(jid=\?\)/, plan);
  }
});

test('an archive written before the parties table keeps its views, participants and hidden messages through the migration', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-archive-'));
  const file = path.join(dir, 'archive.db');
  // The schema as it was (migrations 001-003), with rows the way that version's index pass wrote them.
  const oldSchema = path.join(dir, 'schema');
  fs.mkdirSync(oldSchema);
  const schemaDir = path.join(SCHEMA_ROOT, 'archive', 'records');
  for (const f of fs.readdirSync(schemaDir).filter((f) => /^00[1-3]_/.test(f))) fs.copyFileSync(path.join(schemaDir, f), path.join(oldSchema, f));
  const old = openDatabaseFile(file);
  applyMigrations(old, oldSchema, 'archive/records');
  const insert = old.prepare(`INSERT INTO records (seq, id, ts, day, kind, type, sender, sender_bare, recipient, recipient_bare, body, stanza, prev_hash, hash)
    VALUES (?, ?, ?, '2026-01-05', 'message', 'chat', ?, ?, ?, ?, ?, ?, '', '')`);
  const rows: [number, string, string, string][] = [[1, ALICE, BOB, 'hello bob'], [2, BOB, ALICE, 'hi alice'], [3, CAROL, BOB, 'from carol'], [4, 'eve@elsewhere.example', BOB, 'outside']];
  for (const [seq, from, to, body] of rows) {
    insert.run(seq, `id${seq}`, T0 + seq, `${from}/r`, from, to, to, body, `<message><body>${body}</body></message>`);
    old.prepare('INSERT INTO record_parties (jid, seq) VALUES (?, ?), (?, ?)').run(from, seq, to, seq);
  }
  // Views: both sides of 1 and 2; Bob's of 3 (Carol's preferences left hers out); Bob's of 4 which he then deleted.
  for (const [owner, seq, withJid] of [[ALICE, 1, BOB], [BOB, 1, ALICE], [BOB, 2, ALICE], [ALICE, 2, BOB], [BOB, 3, CAROL]] as const) {
    old.prepare('INSERT INTO user_view (owner, seq, with_jid) VALUES (?, ?, ?)').run(owner, seq, withJid);
  }
  old.prepare("UPDATE archive_state SET value = 4 WHERE key = 'indexed_upto'").run();
  old.close();

  const { db } = openArchiveDb(file);
  const ids = (owner: string, with_?: string) => queryHistory(db, { owner, max: 10, with: with_ }).items.map((i) => i.id);
  assert.deepEqual(ids(BOB), ['id1', 'id2', 'id3']);
  assert.deepEqual(ids(BOB, CAROL), ['id3']);
  assert.deepEqual(ids(ALICE), ['id1', 'id2']);
  assert.deepEqual(ids(CAROL), []);
  // E-discovery still finds every participant, shown or not.
  const seqsOf = (jid: string) => (db.prepare('SELECT p.seq FROM parties p JOIN jids j ON j.id = p.jid WHERE j.jid = ? ORDER BY p.seq').all(jid) as { seq: number }[]).map((r) => r.seq);
  assert.deepEqual(seqsOf(BOB), [1, 2, 3, 4]);
  assert.deepEqual(seqsOf(CAROL), [3]);
  assert.deepEqual(seqsOf('eve@elsewhere.example'), [4]);
  assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('user_view', 'record_parties')").get() as { n: number }).n, 0);
  // The derived tables live in the index file now (derived.ts), with the full text rebuilt there.
  assert.equal((db.prepare("SELECT count(*) AS n FROM main.sqlite_master WHERE name IN ('parties', 'jids', 'records_fts')").get() as { n: number }).n, 0);
  assert.equal((db.prepare("SELECT count(*) AS n FROM ix.sqlite_master WHERE name IN ('parties', 'jids', 'records_fts')").get() as { n: number }).n, 3);
  assert.deepEqual((db.prepare('SELECT rowid FROM ix.records_fts WHERE records_fts MATCH ? ORDER BY rowid').all('carol OR outside') as { rowid: number }[]).map((r) => r.rowid), [3, 4]);
});

test('the indexer\'s pass leaves the records file alone: appends go on while it holds the index file', () => {
  const { db, file } = openArchiveDb();
  const store = new ArchiveStore(db);
  store.append([{ record: archiveMessage({ from: `${ALICE}/r`, to: BOB, body: 'one', ts: T0 }), views: [{ owner: ALICE, with_jid: BOB }, { owner: BOB, with_jid: ALICE }] }]);
  // A second connection, as the writer thread has: the records file only.
  const writer = new ArchiveStore(openDatabaseFile(file));
  db.exec('BEGIN');
  assert.equal(store.indexSome(100), 1, 'the pass indexes inside the open transaction');
  writer.append([{ record: archiveMessage({ from: `${BOB}/r`, to: ALICE, body: 'two', ts: T0 + 1 }), views: [] }]);
  db.exec('COMMIT');
  assert.equal(store.indexPending(), 1, 'the record appended meanwhile is indexed next');
  assert.deepEqual((db.prepare('SELECT p.seq, p.shown FROM parties p JOIN jids j ON j.id = p.jid WHERE j.jid = ? ORDER BY p.seq').all(ALICE) as { seq: number; shown: number }[])
    .map((r) => [r.seq, r.shown]), [[1, 1], [2, 0]]);
  writer.db.close();
});
