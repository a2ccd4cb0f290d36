import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { xml, type Element } from '@xmpp/xml';
import { coreConfigSchema } from '../../server/config/schema.js';
import { startServer, type TestServer } from '../../test/kit/server.js';
import type { TestClient } from '../../test/kit/client.js';

const MAM = 'urn:xmpp:mam:2';
const RSM = 'http://jabber.org/protocol/rsm';
const FORWARD = 'urn:xmpp:forward:0';
const SID = 'urn:xmpp:sid:0';
const DATA = 'jabber:x:data';
const DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const COMMANDS = 'http://jabber.org/protocol/commands';
const DELETE_NODE = 'urn:x-parley:mam#delete-history';

/** The server's default modules plus the archive and MAM. */
async function mamServer(t: TestContext, mam: Record<string, unknown> = {}): Promise<TestServer> {
  const defaults = coreConfigSchema.shape.modules.parse(undefined) as Record<string, unknown>;
  return startServer(t, { modules: { ...defaults, archive: {}, mam }, logLevel: 'info' });
}

async function users(s: TestServer, ...names: string[]): Promise<TestClient[]> {
  for (const n of names) await s.createUser(n);
  return Promise.all(names.map((n) => s.connect(n)));
}

let messageNumber = 0;

/**
 * One chat message, waited for at the recipient; returns the archive id the recipient was given
 * (XEP-0359). With `inHistory: false` the message is one the recipient's preferences keep out of
 * their history, and it must carry no stanza-id by them (an id their archive would not know).
 */
async function chat(from: TestClient, to: TestClient, body: string, o: { inHistory?: boolean } = {}): Promise<string> {
  await from.send(xml('message', { to: to.bare, type: 'chat', id: `m${++messageNumber}` }, xml('body', {}, body)));
  const got = await to.next((el) => el.name === 'message' && el.getChildText('body') === body);
  const sid = got.getChildren('stanza-id', SID).find((e) => e.attrs.by === to.bare);
  if (o.inHistory === false) {
    assert.equal(sid, undefined, `a stanza-id by ${to.bare} on a message outside their history: ${got.toString()}`);
    return '';
  }
  assert.ok(sid?.attrs.id, `no stanza-id by ${to.bare} on ${got.toString()}`);
  return sid.attrs.id;
}

interface Exchanged { body: string; id: string; from: string }

/** Alice and bob take turns, 'n' messages in all, each waited for before the next. */
async function exchange(alice: TestClient, bob: TestClient, n: number, prefix = 'msg'): Promise<Exchanged[]> {
  const out: Exchanged[] = [];
  for (let i = 0; i < n; i++) {
    const [from, to] = i % 2 === 0 ? [alice, bob] : [bob, alice];
    const body = `${prefix} ${i}`;
    out.push({ body, id: await chat(from, to, body), from: from.bare });
  }
  return out;
}

interface QueryOptions {
  fields?: Record<string, string | string[]>;
  rsm?: { max?: number; after?: string; before?: string; index?: number };
  flip?: boolean;
  to?: string;
}
interface QueryAnswer { iq: Element; results: Element[]; fin: Element | undefined }

let queryNumber = 0;

/** A MAM query as a client sends it; collects the result messages that precede the IQ answer. */
async function query(c: TestClient, o: QueryOptions = {}): Promise<QueryAnswer> {
  const queryid = `q${++queryNumber}`;
  const form = o.fields ? xml('x', { xmlns: DATA, type: 'submit' },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, MAM)),
    ...Object.entries(o.fields).map(([k, v]) => xml('field', { var: k }, ...[v].flat().map((value) => xml('value', {}, value))))) : null;
  const rsm = o.rsm ? xml('set', { xmlns: RSM },
    o.rsm.max !== undefined ? xml('max', {}, String(o.rsm.max)) : null,
    o.rsm.after !== undefined ? xml('after', {}, o.rsm.after) : null,
    o.rsm.before !== undefined ? xml('before', {}, o.rsm.before) : null,
    o.rsm.index !== undefined ? xml('index', {}, String(o.rsm.index)) : null) : null;
  const results: Element[] = [];
  const collect = (el: Element) => { if (el.name === 'message' && el.getChild('result', MAM)?.attrs.queryid === queryid) results.push(el); };
  c.xmpp.on('stanza', collect);
  try {
    const iq = await c.iq(xml('iq', { type: 'set', to: o.to }, xml('query', { xmlns: MAM, queryid }, form, rsm, o.flip ? xml('flip-page') : null)));
    return { iq, results, fin: iq.getChild('fin', MAM) };
  } finally {
    c.xmpp.off('stanza', collect);
  }
}

const resultId = (m: Element) => m.getChild('result', MAM)!.attrs.id!;
const forwarded = (m: Element) => m.getChild('result', MAM)!.getChild('forwarded', FORWARD)!;
const bodyOf = (m: Element) => forwarded(m).getChild('message')!.getChildText('body');
const stampOf = (m: Element) => forwarded(m).getChild('delay', 'urn:xmpp:delay')!.attrs.stamp!;
const rsmOf = (a: QueryAnswer) => {
  assert.equal(a.iq.attrs.type, 'result', a.iq.toString());
  const set = a.fin!.getChild('set', RSM)!;
  return {
    first: set.getChildText('first'), index: set.getChild('first')?.attrs.index, last: set.getChildText('last'),
    count: Number(set.getChildText('count')), complete: a.fin!.attrs.complete === 'true',
  };
};
const conditionOf = (iq: Element) => {
  assert.equal(iq.attrs.type, 'error', iq.toString());
  return iq.getChild('error')!.getChildElements()[0]!.name;
};

/** Every message of the owner's history, paging forward 100 at a time. */
async function wholeHistory(c: TestClient, fields?: Record<string, string | string[]>): Promise<Element[]> {
  const all: Element[] = [];
  let after: string | undefined;
  for (let i = 0; i < 50; i++) {
    const a = await query(c, { fields, rsm: { max: 100, after } });
    all.push(...a.results);
    if (rsmOf(a).complete) return all;
    after = rsmOf(a).last!;
  }
  throw new Error('history did not end');
}

function archiveDb(s: TestServer): Database.Database {
  return new Database(path.join(s.dataDir, 'archive', 'archive.db'), { fileMustExist: true });
}

test('the account announces MAM with #extended and stanza ids, and offers the query form', async (t) => {
  const s = await mamServer(t);
  const [alice] = await users(s, 'alice');
  const info = await alice.iq(xml('iq', { type: 'get', to: alice.bare }, xml('query', { xmlns: DISCO_INFO })));
  const features = info.getChild('query', DISCO_INFO)!.getChildren('feature').map((f) => f.attrs.var);
  for (const f of [MAM, `${MAM}#extended`, SID]) assert.ok(features.includes(f), f);

  const form = await alice.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: MAM })));
  assert.equal(form.attrs.type, 'result', form.toString());
  const x = form.getChild('query', MAM)!.getChild('x', DATA)!;
  assert.equal(x.attrs.type, 'form');
  const fields = Object.fromEntries(x.getChildren('field').map((f) => [f.attrs.var, f.attrs.type]));
  assert.deepEqual(
    { FORM_TYPE: fields.FORM_TYPE, with: fields.with, start: fields.start, end: fields.end, 'before-id': fields['before-id'], 'after-id': fields['after-id'], ids: fields.ids },
    { FORM_TYPE: 'hidden', with: 'jid-single', start: 'text-single', end: 'text-single', 'before-id': 'text-single', 'after-id': 'text-single', ids: 'list-multi' },
  );
  assert.equal(x.getChildren('field').some((f) => f.getChild('required')), false);
});

test('bob pages forward through 25 exchanged messages ten at a time and gets each once, in order, under the id he was given live', async (t) => {
  const s = await mamServer(t);
  const [alice, bob] = await users(s, 'alice', 'bob');
  const sent = await exchange(alice, bob, 25);

  const seen: Element[] = [];
  const pages: ReturnType<typeof rsmOf>[] = [];
  let after: string | undefined;
  for (let i = 0; i < 5; i++) {
    const a = await query(bob, { rsm: { max: 10, after } });
    const rsm = rsmOf(a);
    pages.push(rsm);
    assert.equal(rsm.first, a.results[0] ? resultId(a.results[0]) : null);
    assert.equal(rsm.last, a.results.length ? resultId(a.results.at(-1)!) : null);
    seen.push(...a.results);
    if (rsm.complete) break;
    after = rsm.last!;
  }
  assert.deepEqual(pages.map((p) => [p.index, p.count, p.complete]), [['0', 25, false], ['10', 25, false], ['20', 25, true]]);
  assert.deepEqual(seen.map(bodyOf), sent.map((m) => m.body));
  // XEP-0359: the id in the archive is the stanza-id the recipient got (alice's for bob's own messages: one record, both views).
  assert.deepEqual(seen.map(resultId), sent.map((m) => m.id));

  const first = seen[0]!;
  assert.equal(first.attrs.to, bob.jid);
  assert.equal(first.attrs.from, bob.bare);
  const inner = forwarded(first).getChild('message')!;
  assert.equal(inner.attrs.xmlns, 'jabber:client');
  assert.equal(inner.attrs.from, alice.jid);
  assert.equal(inner.attrs.to, bob.bare);
  assert.equal(inner.attrs.type, 'chat');
  assert.ok(Math.abs(Date.parse(stampOf(first)) - Date.now()) < 60_000, stampOf(first));
  // Alice sees the same 25 under the same ids.
  assert.deepEqual((await wholeHistory(alice)).map(resultId), sent.map((m) => m.id));
});

test('paging backward from the last page with an empty before gives the newest messages, oldest first in each page', async (t) => {
  const s = await mamServer(t);
  const [alice, bob] = await users(s, 'alice', 'bob');
  const sent = await exchange(alice, bob, 25);
  const last = await query(bob, { rsm: { max: 10, before: '' } });
  assert.deepEqual(last.results.map(bodyOf), sent.slice(15).map((m) => m.body));
  assert.deepEqual([rsmOf(last).index, rsmOf(last).complete], ['15', false]);
  const middle = await query(bob, { rsm: { max: 10, before: rsmOf(last).first! } });
  assert.deepEqual(middle.results.map(bodyOf), sent.slice(5, 15).map((m) => m.body));
  const oldest = await query(bob, { rsm: { max: 10, before: rsmOf(middle).first! } });
  assert.deepEqual(oldest.results.map(bodyOf), sent.slice(0, 5).map((m) => m.body));
  assert.deepEqual([rsmOf(oldest).index, rsmOf(oldest).complete], ['0', true]);
  // XEP-0313 4.3.4: a flipped page holds the same messages, newest first; the RSM set is unchanged.
  const flipped = await query(bob, { rsm: { max: 10, before: '' }, flip: true });
  assert.deepEqual(flipped.results.map(bodyOf), sent.slice(15).map((m) => m.body).reverse());
  assert.deepEqual(rsmOf(flipped), rsmOf(last));
});

test('with narrows the history to one contact, by bare JID or by one full JID', async (t) => {
  const s = await mamServer(t);
  const [alice, bob, carol] = await users(s, 'alice', 'bob', 'carol');
  await chat(alice, bob, 'alice 1');
  await chat(carol, bob, 'carol 1');
  await chat(bob, alice, 'bob to alice');
  await chat(carol, bob, 'carol 2');
  const withAlice = await query(bob, { fields: { with: alice.bare } });
  assert.deepEqual(withAlice.results.map(bodyOf), ['alice 1', 'bob to alice']);
  assert.equal(rsmOf(withAlice).count, 2);
  assert.deepEqual((await query(bob, { fields: { with: carol.bare } })).results.map(bodyOf), ['carol 1', 'carol 2']);
  // A full JID matches that address only: carol sent from her full JID; bob's message went to alice's bare JID.
  assert.deepEqual((await query(bob, { fields: { with: carol.jid } })).results.map(bodyOf), ['carol 1', 'carol 2']);
  assert.deepEqual((await query(bob, { fields: { with: `${alice.bare}/elsewhere` } })).results.map(bodyOf), []);
  assert.equal(rsmOf(await query(bob, { fields: { with: 'nobody@localhost' } })).count, 0);
});

test('start and end select an inclusive range of archive times', async (t) => {
  const s = await mamServer(t);
  const [alice, bob] = await users(s, 'alice', 'bob');
  await exchange(alice, bob, 12);
  const all = await wholeHistory(bob);
  const stamps = all.map((m) => Date.parse(stampOf(m)));
  const [start, end] = [stamps[3]!, stamps[8]!];
  const expected = all.filter((_, i) => stamps[i]! >= start && stamps[i]! <= end).map(bodyOf);
  assert.ok(expected.length >= 6);
  const ranged = await query(bob, { fields: { start: new Date(start).toISOString(), end: new Date(end).toISOString() } });
  assert.deepEqual(ranged.results.map(bodyOf), expected);
  assert.deepEqual((await query(bob, { fields: { start: new Date(stamps[11]! + 1).toISOString() } })).results, []);
  // XEP-0082 with an offset names the same instant.
  const offset = new Date(start + 2 * 3600_000).toISOString().replace('Z', '+02:00');
  assert.deepEqual((await query(bob, { fields: { start: offset } })).results.map(bodyOf), all.filter((_, i) => stamps[i]! >= start).map(bodyOf));
});

test('after-id, before-id and ids select messages by archive id', async (t) => {
  const s = await mamServer(t);
  const [alice, bob] = await users(s, 'alice', 'bob');
  const sent = await exchange(alice, bob, 10);
  const between = await query(bob, { fields: { 'after-id': sent[2]!.id, 'before-id': sent[7]!.id } });
  assert.deepEqual(between.results.map(bodyOf), sent.slice(3, 7).map((m) => m.body));
  assert.equal(rsmOf(between).complete, true);
  const after = await query(bob, { fields: { 'after-id': sent[6]!.id } });
  assert.deepEqual(after.results.map(resultId), sent.slice(7).map((m) => m.id));
  // XEP-0313 section 9: before-id limits the result but does not page backwards.
  const before = await query(bob, { fields: { 'before-id': sent[6]!.id }, rsm: { max: 2 } });
  assert.deepEqual(before.results.map(bodyOf), ['msg 0', 'msg 1']);
  const ids = await query(bob, { fields: { ids: [sent[8]!.id, sent[1]!.id] } });
  assert.deepEqual(ids.results.map(resultId), [sent[1]!.id, sent[8]!.id]);
});

test('an id that is not in the archive gets item-not-found, in RSM and in the form', async (t) => {
  const s = await mamServer(t);
  const [alice, bob, carol] = await users(s, 'alice', 'bob', 'carol');
  await chat(alice, bob, 'hello bob');
  const carols = await chat(alice, carol, 'for carol only');
  assert.equal(conditionOf((await query(bob, { rsm: { max: 5, after: 'no-such-id' } })).iq), 'item-not-found');
  assert.equal(conditionOf((await query(bob, { rsm: { max: 5, before: 'no-such-id' } })).iq), 'item-not-found');
  // An id of someone else's conversation is not in bob's archive either.
  assert.equal(conditionOf((await query(bob, { fields: { 'after-id': carols } })).iq), 'item-not-found');
  assert.equal(conditionOf((await query(bob, { fields: { ids: ['no-such-id'] } })).iq), 'item-not-found');
  assert.equal(conditionOf((await query(bob, { fields: { 'before-id': 'no-such-id' } })).iq), 'item-not-found');
});

test('malformed queries are refused: bad values with bad-request, unknown fields with feature-not-implemented', async (t) => {
  const s = await mamServer(t);
  const [bob] = await users(s, 'bob');
  assert.equal(conditionOf((await query(bob, { fields: { start: 'yesterday' } })).iq), 'bad-request');
  assert.equal(conditionOf((await query(bob, { fields: { with: 'not a@jid@x' } })).iq), 'bad-request');
  assert.equal(conditionOf((await query(bob, { fields: { 'urn:example:free-text': 'hi' } })).iq), 'feature-not-implemented');
  assert.equal(conditionOf((await query(bob, { rsm: { max: -1 } })).iq), 'bad-request');
  assert.equal(conditionOf((await query(bob, { rsm: { after: 'a', before: 'b' } })).iq), 'bad-request');
  const wrongType = await bob.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: MAM },
    xml('x', { xmlns: DATA, type: 'submit' }, xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'urn:xmpp:mam:1'))))));
  assert.equal(conditionOf(wrongType), 'bad-request');
  // include-groupchat is understood; a user's history holds no group chat to include.
  assert.equal((await query(bob, { fields: { 'include-groupchat': 'true' } })).iq.attrs.type, 'result');
});

test('a page never exceeds max_page, whatever the client asks', async (t) => {
  const s = await mamServer(t, { max_page: 5 });
  const [alice, bob] = await users(s, 'alice', 'bob');
  await exchange(alice, bob, 8);
  const big = await query(bob, { rsm: { max: 100 } });
  assert.equal(big.results.length, 5);
  assert.deepEqual([rsmOf(big).count, rsmOf(big).complete], [8, false]);
  const none = await query(bob);
  assert.equal(none.results.length, 5);
  const counted = await query(bob, { rsm: { max: 0 } });
  assert.deepEqual([counted.results.length, rsmOf(counted).count, rsmOf(counted).first], [0, 8, null]);
});

test('querying another user\'s archive, its metadata or its preferences is forbidden', async (t) => {
  const s = await mamServer(t);
  const [alice, bob] = await users(s, 'alice', 'bob');
  await chat(alice, bob, 'private');
  assert.equal(conditionOf((await query(alice, { to: bob.bare })).iq), 'forbidden');
  assert.equal(conditionOf(await alice.iq(xml('iq', { type: 'get', to: bob.bare }, xml('metadata', { xmlns: MAM })))), 'forbidden');
  assert.equal(conditionOf(await alice.iq(xml('iq', { type: 'get', to: bob.bare }, xml('prefs', { xmlns: MAM })))), 'forbidden');
  assert.equal(conditionOf(await alice.iq(xml('iq', { type: 'set', to: bob.bare }, xml('prefs', { xmlns: MAM, default: 'never' })))), 'forbidden');
  // Addressed to her own bare JID, alice's query works.
  assert.equal((await query(alice, { to: alice.bare })).results.length, 1);
});

test('metadata names the first and last message of the archive, and is empty for an empty archive', async (t) => {
  const s = await mamServer(t);
  const [alice, bob, carol] = await users(s, 'alice', 'bob', 'carol');
  const empty = await carol.iq(xml('iq', { type: 'get' }, xml('metadata', { xmlns: MAM })));
  assert.equal(empty.attrs.type, 'result');
  assert.deepEqual(empty.getChild('metadata', MAM)!.getChildElements(), []);
  const sent = await exchange(alice, bob, 4);
  const all = await wholeHistory(bob);
  const meta = (await bob.iq(xml('iq', { type: 'get' }, xml('metadata', { xmlns: MAM })))).getChild('metadata', MAM)!;
  assert.deepEqual(
    [meta.getChild('start')!.attrs.id, meta.getChild('start')!.attrs.timestamp, meta.getChild('end')!.attrs.id, meta.getChild('end')!.attrs.timestamp],
    [sent[0]!.id, stampOf(all[0]!), sent[3]!.id, stampOf(all[3]!)],
  );
});

test('preferences are answered with both lists and stored as the server applied them', async (t) => {
  const s = await mamServer(t);
  const [bob] = await users(s, 'bob');
  const get = async () => (await bob.iq(xml('iq', { type: 'get' }, xml('prefs', { xmlns: MAM })))).getChild('prefs', MAM)!;
  const initial = await get();
  assert.equal(initial.attrs.default, 'always');
  assert.deepEqual(initial.getChildElements().map((e) => [e.name, e.getChildElements().length]), [['always', 0], ['never', 0]]);
  const set = await bob.iq(xml('iq', { type: 'set' }, xml('prefs', { xmlns: MAM, default: 'roster' },
    xml('always', {}, xml('jid', {}, 'Alice@LOCALHOST')), xml('never', {}, xml('jid', {}, 'carol@localhost/phone')))));
  assert.equal(set.attrs.type, 'result', set.toString());
  for (const p of [set.getChild('prefs', MAM)!, await get()]) {
    assert.equal(p.attrs.default, 'roster');
    assert.deepEqual(p.getChild('always')!.getChildren('jid').map((j) => j.getText()), ['alice@localhost']);
    assert.deepEqual(p.getChild('never')!.getChildren('jid').map((j) => j.getText()), ['carol@localhost/phone']);
  }
  assert.equal(conditionOf(await bob.iq(xml('iq', { type: 'set' }, xml('prefs', { xmlns: MAM, default: 'sometimes' })))), 'bad-request');
});

test('never for a contact keeps new messages out of that user\'s history only; the other side and the compliance record keep them', async (t) => {
  const s = await mamServer(t);
  const [alice, bob, carol] = await users(s, 'alice', 'bob', 'carol');
  await chat(alice, bob, 'before prefs');
  const set = await bob.iq(xml('iq', { type: 'set' }, xml('prefs', { xmlns: MAM, default: 'always' }, xml('never', {}, xml('jid', {}, alice.bare)))));
  assert.equal(set.attrs.type, 'result', set.toString());
  await chat(alice, bob, 'after prefs, from alice', { inHistory: false });
  await chat(bob, alice, 'after prefs, to alice');
  await chat(carol, bob, 'from carol');

  assert.deepEqual((await wholeHistory(bob)).map(bodyOf), ['before prefs', 'from carol']);
  assert.deepEqual((await wholeHistory(alice)).map(bodyOf), ['before prefs', 'after prefs, from alice', 'after prefs, to alice']);
  const db = archiveDb(s);
  t.after(() => db.close());
  const bodies = (db.prepare("SELECT body FROM records WHERE kind = 'message' ORDER BY seq").all() as { body: string }[]).map((r) => r.body);
  assert.deepEqual(bodies, ['before prefs', 'after prefs, from alice', 'after prefs, to alice', 'from carol']);
});

test('with the roster default, only messages with roster contacts enter the history', async (t) => {
  const s = await mamServer(t);
  const [alice, bob, carol] = await users(s, 'alice', 'bob', 'carol');
  const rosterSet = await bob.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: 'jabber:iq:roster' }, xml('item', { jid: alice.bare }))));
  assert.equal(rosterSet.attrs.type, 'result', rosterSet.toString());
  const set = await bob.iq(xml('iq', { type: 'set' }, xml('prefs', { xmlns: MAM, default: 'roster' })));
  assert.equal(set.attrs.type, 'result', set.toString());
  await chat(alice, bob, 'from a contact');
  await chat(carol, bob, 'from a stranger', { inHistory: false });
  await chat(bob, carol, 'to a stranger');
  assert.deepEqual((await wholeHistory(bob)).map(bodyOf), ['from a contact']);
  assert.deepEqual((await wholeHistory(carol)).map(bodyOf), ['from a stranger', 'to a stranger']);
});

test('the delete command removes messages from the user\'s history, and the records remain', async (t) => {
  const s = await mamServer(t);
  const [alice, bob, carol] = await users(s, 'alice', 'bob', 'carol');
  await chat(alice, bob, 'alice 1');
  await chat(carol, bob, 'carol 1');
  await chat(bob, alice, 'bob 1');

  const items = await bob.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items', node: COMMANDS })));
  assert.ok(items.getChild('query')!.getChildren('item').some((i) => i.attrs.node === DELETE_NODE));
  const step = await bob.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('command', { xmlns: COMMANDS, node: DELETE_NODE, action: 'execute' })));
  const command = step.getChild('command', COMMANDS)!;
  assert.equal(command.attrs.status, 'executing', step.toString());
  assert.deepEqual(command.getChild('x', DATA)!.getChildren('field').map((f) => f.attrs.var), ['FORM_TYPE', 'with', 'start', 'end']);
  const done = await bob.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('command', { xmlns: COMMANDS, node: DELETE_NODE, sessionid: command.attrs.sessionid, action: 'complete' },
    xml('x', { xmlns: DATA, type: 'submit' }, xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, DELETE_NODE)),
      xml('field', { var: 'with' }, xml('value', {}, alice.bare))))));
  const completed = done.getChild('command', COMMANDS)!;
  assert.equal(completed.attrs.status, 'completed', done.toString());
  assert.equal(completed.getChildText('note'), 'Deleted 2 messages from your history');

  assert.deepEqual((await wholeHistory(bob)).map(bodyOf), ['carol 1']);
  assert.deepEqual((await wholeHistory(alice)).map(bodyOf), ['alice 1', 'bob 1']);
  const db = archiveDb(s);
  t.after(() => db.close());
  assert.equal((db.prepare("SELECT COUNT(*) AS n FROM records WHERE kind = 'message'").get() as { n: number }).n, 3);
});
