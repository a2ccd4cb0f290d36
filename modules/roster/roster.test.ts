import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import { startServer, type StartOptions } from '../../test/kit/server.js';
import { RawClient } from '../../test/kit/raw.js';
import type { TestClient } from '../../test/kit/client.js';

const ROSTER = 'jabber:iq:roster';
const modules = { disco: {}, ping: {}, message: {}, roster: {} };

const rosterGet = (ver?: string) => xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER, ver }));
const rosterSet = (attrs: Record<string, string>, groups: string[] = []) =>
  xml('iq', { type: 'set' }, xml('query', { xmlns: ROSTER }, xml('item', attrs, ...groups.map((g) => xml('group', {}, g)))));
const items = (iq: Element) => iq.getChild('query', ROSTER)?.getChildren('item') ?? [];
const isPush = (jid: string) => (el: Element) =>
  el.name === 'iq' && el.attrs.type === 'set' && el.getChild('query', ROSTER)?.getChild('item')?.attrs.jid === jid;
const condition = (iq: Element) => iq.getChild('error')?.getChildElements()[0]?.name;

async function setup(t: Parameters<typeof startServer>[0], opts: StartOptions = {}) {
  const s = await startServer(t, { modules, ...opts });
  await s.createUser('alice');
  await s.createUser('bob');
  return s;
}

async function interested(c: TestClient): Promise<Element> {
  const r = await c.iq(rosterGet());
  assert.equal(r.attrs.type, 'result');
  return r;
}

test('a new roster is empty and an added item comes back with its name and groups', async (t) => {
  const s = await setup(t);
  const alice = await s.connect('alice');
  assert.equal(items(await interested(alice)).length, 0);
  const set = await alice.iq(rosterSet({ jid: 'bob@localhost', name: 'Bob' }, ['Friends', 'Work']));
  assert.equal(set.attrs.type, 'result');
  const [item] = items(await alice.iq(rosterGet()));
  assert.equal(item!.attrs.jid, 'bob@localhost');
  assert.equal(item!.attrs.name, 'Bob');
  assert.equal(item!.attrs.subscription, 'none');
  assert.equal(item!.attrs.ask, undefined);
  assert.deepEqual(item!.getChildren('group').map((g) => g.getText()), ['Friends', 'Work']);
});

test('a roster set is pushed to every interested resource and not to a resource that never asked for the roster', async (t) => {
  const s = await setup(t);
  const phone = await s.connect('alice', { resource: 'phone' });
  const laptop = await s.connect('alice', { resource: 'laptop' });
  const tablet = await s.connect('alice', { resource: 'tablet' });
  await interested(phone);
  await interested(laptop);
  await phone.iq(rosterSet({ jid: 'bob@localhost', name: 'Bob' }, ['Friends']));
  for (const c of [phone, laptop]) {
    const push = await c.next(isPush('bob@localhost'));
    const [item] = items(push);
    assert.equal(item!.attrs.name, 'Bob');
    assert.equal(item!.attrs.subscription, 'none');
    assert.deepEqual(item!.getChildren('group').map((g) => g.getText()), ['Friends']);
    assert.ok(push.getChild('query', ROSTER)!.attrs.ver, 'a push carries the new roster version');
  }
  await tablet.nothing(isPush('bob@localhost'));
});

test('an update keeps the item and replaces its name and groups', async (t) => {
  const s = await setup(t);
  const alice = await s.connect('alice');
  await interested(alice);
  await alice.iq(rosterSet({ jid: 'bob@localhost', name: 'Bob' }, ['Friends']));
  await alice.next(isPush('bob@localhost'));
  await alice.iq(rosterSet({ jid: 'bob@localhost', name: 'Robert' }, ['Work', 'Chess']));
  const push = await alice.next(isPush('bob@localhost'));
  assert.equal(items(push)[0]!.attrs.name, 'Robert');
  const all = items(await alice.iq(rosterGet()));
  assert.equal(all.length, 1);
  assert.deepEqual(all[0]!.getChildren('group').map((g) => g.getText()), ['Work', 'Chess']);
});

test('removing an item pushes subscription remove to interested resources', async (t) => {
  const s = await setup(t);
  const phone = await s.connect('alice', { resource: 'phone' });
  const laptop = await s.connect('alice', { resource: 'laptop' });
  await interested(phone);
  await interested(laptop);
  await phone.iq(rosterSet({ jid: 'bob@localhost' }));
  await laptop.next(isPush('bob@localhost'));
  const r = await phone.iq(rosterSet({ jid: 'bob@localhost', subscription: 'remove' }));
  assert.equal(r.attrs.type, 'result');
  const push = await laptop.next((el) => isPush('bob@localhost')(el) && items(el)[0]!.attrs.subscription === 'remove');
  assert.ok(push);
  assert.equal(items(await phone.iq(rosterGet())).length, 0);
});

test('removing an item that is not in the roster gets item-not-found', async (t) => {
  const s = await setup(t);
  const alice = await s.connect('alice');
  const r = await alice.iq(rosterSet({ jid: 'nobody@localhost', subscription: 'remove' }));
  assert.equal(r.attrs.type, 'error');
  assert.equal(condition(r), 'item-not-found');
});

test('a roster get with the current version gets an empty result and later changes still arrive as pushes', async (t) => {
  const s = await setup(t);
  const alice = await s.connect('alice');
  await alice.iq(rosterSet({ jid: 'bob@localhost' }));
  const full = await alice.iq(rosterGet(''));
  const ver = full.getChild('query', ROSTER)!.attrs.ver!;
  assert.ok(ver, 'a versioned result carries ver');
  assert.equal(items(full).length, 1);

  const alice2 = await s.connect('alice', { resource: 'second' });
  const same = await alice2.iq(rosterGet(ver));
  assert.equal(same.attrs.type, 'result');
  assert.equal(same.getChild('query'), undefined, 'nothing changed: an empty result');
  await alice.iq(rosterSet({ jid: 'carol@localhost', name: 'Carol' }));
  const push = await alice2.next(isPush('carol@localhost'));
  assert.notEqual(push.getChild('query', ROSTER)!.attrs.ver, ver);
});

test('a roster get with a stale version gets the whole roster with the current version', async (t) => {
  const s = await setup(t);
  const alice = await s.connect('alice');
  const first = await alice.iq(rosterGet(''));
  const old = first.getChild('query', ROSTER)!.attrs.ver!;
  await alice.iq(rosterSet({ jid: 'bob@localhost' }));
  await alice.iq(rosterSet({ jid: 'carol@localhost' }));
  const r = await alice.iq(rosterGet(old));
  const query = r.getChild('query', ROSTER)!;
  assert.notEqual(query.attrs.ver, old);
  assert.deepEqual(items(r).map((i) => i.attrs.jid).sort(), ['bob@localhost', 'carol@localhost']);
});

test('the stream features announce roster versioning after authentication', async (t) => {
  const s = await setup(t);
  const c = await RawClient.authenticated(s.ports.c2s, 'alice', 'alice-secret');
  t.after(() => c.destroy());
  const features = await c.waitFor(/<stream:features>.*?<\/stream:features>/);
  assert.match(features[0], /<ver xmlns="urn:xmpp:features:rosterver"\/>/);
});

test('invalid roster sets are refused with the RFC 6121 conditions', async (t) => {
  const s = await setup(t, { modules: { ...modules, roster: { max_group_length: 10, max_name_length: 10 } } });
  const alice = await s.connect('alice');
  const twoItems = xml('iq', { type: 'set' }, xml('query', { xmlns: ROSTER },
    xml('item', { jid: 'bob@localhost' }), xml('item', { jid: 'carol@localhost' })));
  const cases: [string, Element, string][] = [
    ['two items', twoItems, 'bad-request'],
    ['no jid', rosterSet({ name: 'x' }), 'bad-request'],
    ['a malformed jid', rosterSet({ jid: 'bad@@localhost' }), 'jid-malformed'],
    ['a duplicate group', rosterSet({ jid: 'bob@localhost' }, ['A', 'A']), 'bad-request'],
    ['an empty group', rosterSet({ jid: 'bob@localhost' }, ['']), 'not-acceptable'],
    ['a too long group', rosterSet({ jid: 'bob@localhost' }, ['x'.repeat(11)]), 'not-acceptable'],
    ['a too long name', rosterSet({ jid: 'bob@localhost', name: 'y'.repeat(11) }), 'not-acceptable'],
  ];
  for (const [what, iq, expected] of cases) {
    const r = await alice.iq(iq);
    assert.equal(r.attrs.type, 'error', what);
    assert.equal(condition(r), expected, what);
    assert.ok(r.getChild('error')!.getChildText('text'), `${what}: the error explains itself`);
  }
  assert.equal(items(await alice.iq(rosterGet())).length, 0, 'nothing was stored');
});

test('a full roster refuses a new item with resource-constraint but still accepts updates', async (t) => {
  const s = await setup(t, { modules: { ...modules, roster: { max_items: 2 } } });
  const alice = await s.connect('alice');
  assert.equal((await alice.iq(rosterSet({ jid: 'bob@localhost' }))).attrs.type, 'result');
  assert.equal((await alice.iq(rosterSet({ jid: 'carol@localhost' }))).attrs.type, 'result');
  const r = await alice.iq(rosterSet({ jid: 'dave@localhost' }));
  assert.equal(condition(r), 'resource-constraint');
  assert.match(r.getChild('error')!.getChildText('text')!, /at most 2/);
  assert.equal((await alice.iq(rosterSet({ jid: 'bob@localhost', name: 'Bob' }))).attrs.type, 'result');
});

test('subscription, ask and approved attributes from a client are ignored', async (t) => {
  const s = await setup(t);
  const alice = await s.connect('alice');
  const r = await alice.iq(rosterSet({ jid: 'bob@localhost', subscription: 'both', ask: 'subscribe', approved: 'true' }));
  assert.equal(r.attrs.type, 'result');
  const [item] = items(await alice.iq(rosterGet()));
  assert.equal(item!.attrs.subscription, 'none');
  assert.equal(item!.attrs.ask, undefined);
  assert.equal(item!.attrs.approved, undefined);
});

test("another account's roster can be neither read nor changed", async (t) => {
  const s = await setup(t);
  const alice = await s.connect('alice');
  const get = await alice.iq(xml('iq', { type: 'get', to: 'bob@localhost' }, xml('query', { xmlns: ROSTER })));
  assert.equal(get.attrs.type, 'error');
  assert.equal(condition(get), 'service-unavailable');
  const set = await alice.iq(xml('iq', { type: 'set', to: 'bob@localhost' }, xml('query', { xmlns: ROSTER }, xml('item', { jid: 'eve@localhost' }))));
  assert.equal(set.attrs.type, 'error');
  const bob = await s.connect('bob');
  assert.equal(items(await bob.iq(rosterGet())).length, 0);
});

test('a roster get addressed to the own bare JID is answered like one without to', async (t) => {
  const s = await setup(t);
  const alice = await s.connect('alice');
  await alice.iq(rosterSet({ jid: 'bob@localhost' }));
  const r = await alice.iq(xml('iq', { type: 'get', to: 'alice@localhost' }, xml('query', { xmlns: ROSTER })));
  assert.equal(r.attrs.type, 'result');
  assert.equal(items(r).length, 1);
});

test('the roster survives a server restart', async (t) => {
  const s = await setup(t);
  const alice = await s.connect('alice');
  await alice.iq(rosterSet({ jid: 'bob@localhost', name: 'Bob' }, ['Friends']));
  const ver = (await alice.iq(rosterGet(''))).getChild('query', ROSTER)!.attrs.ver;
  await s.stop();
  const again = await startServer(t, { modules, dataDir: s.dataDir });
  const alice2 = await again.connect('alice');
  const r = await alice2.iq(rosterGet(''));
  assert.equal(r.getChild('query', ROSTER)!.attrs.ver, ver);
  assert.equal(items(r)[0]!.attrs.name, 'Bob');
});
