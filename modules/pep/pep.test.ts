import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { xml, type Element } from '@xmpp/xml';
import { startServer, type TestServer } from '../../test/kit/server.js';
import type { TestClient } from '../../test/kit/client.js';

const PUBSUB = 'http://jabber.org/protocol/pubsub';
const PUBSUB_OWNER = 'http://jabber.org/protocol/pubsub#owner';
const EVENT = 'http://jabber.org/protocol/pubsub#event';
const ERRORS = 'http://jabber.org/protocol/pubsub#errors';
const DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const CAPS = 'http://jabber.org/protocol/caps';
const AVATAR_DATA = 'urn:xmpp:avatar:data';
const AVATAR_META = 'urn:xmpp:avatar:metadata';
const NICK = 'http://jabber.org/protocol/nick';
const MODULES = { modules: { disco: {}, ping: {}, message: {}, roster: {}, presence: {}, caps: {}, pep: {} } };

// ---- a client with entity capabilities (what @xmpp/client does not do by itself) ----------------

/** XEP-0115 section 5.1 for a client with one identity and these features. */
function capsVer(name: string, features: string[]): string {
  const s = `client/pc//${name}<${[...features].sort().map((f) => `${f}<`).join('')}`;
  return crypto.createHash('sha1').update(s, 'utf8').digest('base64');
}

let clientNumber = 0;

/**
 * Announce `features` with a `<c/>` in presence and answer the server's disco#info query about
 * them. Returns once the answer is written and a ping after it came back, so the server has it.
 * Every client gets a name of its own, so its verification string is new to the server and asked for.
 */
async function announceCaps(c: TestClient, features: string[], extra: Element[] = []): Promise<void> {
  const name = `Test client ${++clientNumber}`;
  const ver = capsVer(name, features);
  c.xmpp.iqCallee.get(DISCO_INFO, 'query', (ctx: unknown) => xml('query', { xmlns: DISCO_INFO, node: (ctx as { element: Element }).element.attrs.node },
    xml('identity', { category: 'client', type: 'pc', name }), ...features.map((f) => xml('feature', { var: f }))));
  const answered = new Promise<void>((resolve) => {
    const onSend = (el: Element) => {
      if (el.name === 'iq' && el.attrs.type === 'result' && el.getChild('query', DISCO_INFO)?.attrs.node === `https://example.org/test#${ver}`) {
        c.xmpp.off('send', onSend);
        resolve();
      }
    };
    c.xmpp.on('send', onSend);
  });
  await c.send(xml('presence', {}, ...extra, xml('c', { xmlns: CAPS, hash: 'sha-1', node: 'https://example.org/test', ver })));
  await answered;
  await ping(c);
}

async function ping(c: TestClient): Promise<void> {
  const pong = await c.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(pong.attrs.type, 'result');
}

/** Connect without presence, then announce caps (the initial presence carries them). */
async function online(s: TestServer, user: string, features: string[], resource = 'phone'): Promise<TestClient> {
  const c = await s.connect(user, { resource, presence: false });
  await announceCaps(c, features);
  return c;
}

const isPresence = (from: string, type: string) => (el: Element) => el.name === 'presence' && el.attrs.from === from && el.attrs.type === type;

/** The subscription handshake both ways (RFC 6121 3.1), ending in 'both'. Both must be available. */
async function befriend(a: TestClient, b: TestClient): Promise<void> {
  await a.send(xml('presence', { type: 'subscribe', to: b.bare }));
  await b.next(isPresence(a.bare, 'subscribe'));
  await b.send(xml('presence', { type: 'subscribed', to: a.bare }));
  await a.next(isPresence(b.bare, 'subscribed'));
  await b.send(xml('presence', { type: 'subscribe', to: a.bare }));
  await a.next(isPresence(b.bare, 'subscribe'));
  await a.send(xml('presence', { type: 'subscribed', to: b.bare }));
  await b.next(isPresence(a.bare, 'subscribed'));
}

// ---- PubSub requests --------------------------------------------------------------------------

function publishOptions(options: Record<string, string>): Element {
  return xml('publish-options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#publish-options')),
    ...Object.entries(options).map(([k, v]) => xml('field', { var: k }, xml('value', {}, v)))));
}

function publish(c: TestClient, node: string, id: string | undefined, payload: Element, options?: Record<string, string>): Promise<Element> {
  return c.iq(xml('iq', { type: 'set' }, xml('pubsub', { xmlns: PUBSUB },
    xml('publish', { node }, xml('item', { id }, payload)), options ? publishOptions(options) : null)));
}

function items(c: TestClient, owner: string, node: string, maxItems?: number): Promise<Element> {
  return c.iq(xml('iq', { type: 'get', to: owner }, xml('pubsub', { xmlns: PUBSUB }, xml('items', { node, max_items: maxItems?.toString() }))));
}

const nick = (name: string) => xml('nick', { xmlns: NICK }, name);
const avatarMetadata = (id: string) => xml('metadata', { xmlns: AVATAR_META }, xml('info', { id, bytes: '3', type: 'image/png', width: '1', height: '1' }));
const avatarData = () => xml('data', { xmlns: AVATAR_DATA }, Buffer.from('png').toString('base64'));

/** A PEP notification of `node` from `owner`. */
const isEvent = (owner: string, node: string) => (el: Element) =>
  el.name === 'message' && el.attrs.from === owner && el.getChild('event', EVENT)?.getChildElements()[0]?.attrs.node === node;
const eventItems = (m: Element) => m.getChild('event', EVENT)!.getChild('items')!;
const errorOf = (iq: Element) => {
  const e = iq.getChild('error');
  return { condition: e?.getChildElements()[0]?.name, app: e?.getChildElements().find((c) => c.getNS() === ERRORS)?.name };
};

const sha1 = (s: string) => crypto.createHash('sha1').update(s).digest('hex');

// ---- tests ------------------------------------------------------------------------------------

test('every account announces a PEP service with publish-options', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const info = (await alice.iq(xml('iq', { type: 'get', to: 'alice@localhost' }, xml('query', { xmlns: DISCO_INFO })))).getChild('query', DISCO_INFO)!;
  assert.ok(info.getChildren('identity').some((i) => i.attrs.category === 'pubsub' && i.attrs.type === 'pep'));
  const features = info.getChildren('feature').map((f) => f.attrs.var);
  for (const f of ['publish', 'publish-options', 'access-whitelist', 'filtered-notifications', 'last-published']) assert.ok(features.includes(`${PUBSUB}#${f}`), f);
});

test('an avatar published by alice reaches a contact whose caps ask for avatar metadata', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await online(s, 'alice', [DISCO_INFO]);
  const bob = await online(s, 'bob', [DISCO_INFO, `${AVATAR_META}+notify`]);
  await befriend(alice, bob);
  // XEP-0084 section 4: data first, then the metadata that announces it.
  const id = sha1('png');
  assert.equal((await publish(alice, AVATAR_DATA, id, avatarData())).attrs.type, 'result');
  const r = await publish(alice, AVATAR_META, id, avatarMetadata(id));
  assert.equal(r.getChild('pubsub', PUBSUB)!.getChild('publish')!.getChild('item')!.attrs.id, id);
  const event = await bob.next(isEvent('alice@localhost', AVATAR_META));
  assert.equal(event.attrs.type, 'headline');
  assert.equal(event.attrs.to, bob.jid);
  const item = eventItems(event).getChild('item')!;
  assert.equal(item.attrs.id, id);
  assert.equal(item.getChild('metadata', AVATAR_META)!.getChild('info')!.attrs.id, id);
  // bob did not ask for the data node: he fetches it himself.
  await bob.nothing(isEvent('alice@localhost', AVATAR_DATA));
  const data = await items(bob, 'alice@localhost', AVATAR_DATA);
  assert.equal(data.getChild('pubsub', PUBSUB)!.getChild('items')!.getChild('item')!.getChildText('data'), Buffer.from('png').toString('base64'));
});

test('a contact whose caps do not ask for a node gets no notifications of it', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await online(s, 'alice', [DISCO_INFO]);
  const bob = await online(s, 'bob', [DISCO_INFO, `${AVATAR_META}+notify`]);
  await befriend(alice, bob);
  await publish(alice, NICK, 'current', nick('Alice'));
  await bob.nothing(isEvent('alice@localhost', NICK));
});

test('a nickname reaches the owner\'s other devices and contacts, and the newest one comes with presence', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await online(s, 'alice', [DISCO_INFO, `${NICK}+notify`]);
  const bob = await online(s, 'bob', [DISCO_INFO, `${NICK}+notify`]);
  await befriend(alice, bob);
  const desk = await online(s, 'alice', [DISCO_INFO], 'desk');
  await publish(desk, NICK, 'current', nick('Alice in Wonderland'));
  assert.equal(eventItems(await alice.next(isEvent('alice@localhost', NICK))).getChild('item')!.getChildText('nick'), 'Alice in Wonderland');
  assert.equal(eventItems(await bob.next(isEvent('alice@localhost', NICK))).getChild('item')!.getChildText('nick'), 'Alice in Wonderland');

  // XEP-0163 4.3.3: bob's new device gets the newest nick when it comes online, stamped with its time.
  const laptop = await s.connect('bob', { resource: 'laptop', presence: false });
  const last = laptop.next(isEvent('alice@localhost', NICK));
  await announceCaps(laptop, [DISCO_INFO, `${NICK}+notify`]);
  const m = await last;
  assert.equal(eventItems(m).getChild('item')!.getChildText('nick'), 'Alice in Wonderland');
  assert.ok(m.getChild('delay', 'urn:xmpp:delay'));
});

test('the newest item reaches a contact when alice is offline', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await online(s, 'alice', [DISCO_INFO]);
  const bob = await online(s, 'bob', [DISCO_INFO]);
  await befriend(alice, bob);
  await publish(alice, NICK, 'current', nick('Alice'));
  await alice.stop();
  const laptop = await s.connect('bob', { resource: 'laptop', presence: false });
  const last = laptop.next(isEvent('alice@localhost', NICK));
  await announceCaps(laptop, [DISCO_INFO, `${NICK}+notify`]);
  assert.equal(eventItems(await last).getChild('item')!.getChildText('nick'), 'Alice');
});

test('the newest item reaches a contact when alice approves the subscription', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await online(s, 'alice', [DISCO_INFO]);
  const bob = await online(s, 'bob', [DISCO_INFO, `${NICK}+notify`]);
  await publish(alice, NICK, 'current', nick('Alice'));
  await bob.nothing(isEvent('alice@localhost', NICK));
  await bob.send(xml('presence', { type: 'subscribe', to: 'alice@localhost' }));
  await alice.next(isPresence('bob@localhost', 'subscribe'));
  await alice.send(xml('presence', { type: 'subscribed', to: 'bob@localhost' }));
  assert.equal(eventItems(await bob.next(isEvent('alice@localhost', NICK))).getChild('item')!.getChildText('nick'), 'Alice');
});

test('contacts read a presence node, strangers are told a subscription is required', async (t) => {
  const s = await startServer(t, MODULES);
  for (const u of ['alice', 'bob', 'carol']) await s.createUser(u);
  const alice = await online(s, 'alice', [DISCO_INFO]);
  const bob = await online(s, 'bob', [DISCO_INFO]);
  const carol = await s.connect('carol');
  await befriend(alice, bob);
  await publish(alice, NICK, 'current', nick('Alice'));
  const got = await items(bob, 'alice@localhost', NICK);
  assert.equal(got.getChild('pubsub', PUBSUB)!.getChild('items')!.getChild('item')!.getChildText('nick'), 'Alice');
  assert.deepEqual(errorOf(await items(carol, 'alice@localhost', NICK)), { condition: 'not-authorized', app: 'presence-subscription-required' });
  // An open node is for anyone.
  await publish(alice, 'urn:example:public', 'x', xml('thing', { xmlns: 'urn:example:public' }), { 'pubsub#access_model': 'open' });
  assert.equal((await items(carol, 'alice@localhost', 'urn:example:public')).attrs.type, 'result');
});

test('a whitelist node stays private: contacts can neither read it nor get notifications', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await online(s, 'alice', [DISCO_INFO]);
  const bob = await online(s, 'bob', [DISCO_INFO, 'urn:example:secret+notify']);
  await befriend(alice, bob);
  const r = await publish(alice, 'urn:example:secret', 'x', xml('secret', { xmlns: 'urn:example:secret' }, 'diary'),
    { 'pubsub#access_model': 'whitelist', 'pubsub#persist_items': 'true' });
  assert.equal(r.attrs.type, 'result', r.toString());
  await bob.nothing(isEvent('alice@localhost', 'urn:example:secret'));
  assert.deepEqual(errorOf(await items(bob, 'alice@localhost', 'urn:example:secret')), { condition: 'not-allowed', app: 'closed-node' });
  assert.equal((await items(alice, 'alice@localhost', 'urn:example:secret')).attrs.type, 'result');
});

test('publish-options that do not match an existing node fail with precondition-not-met', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  await publish(alice, 'urn:example:prefs', 'a', xml('p', { xmlns: 'urn:example:prefs' }), { 'pubsub#access_model': 'whitelist' });
  const clash = await publish(alice, 'urn:example:prefs', 'b', xml('p', { xmlns: 'urn:example:prefs' }), { 'pubsub#access_model': 'open' });
  assert.deepEqual(errorOf(clash), { condition: 'conflict', app: 'precondition-not-met' });
  const same = await publish(alice, 'urn:example:prefs', 'b', xml('p', { xmlns: 'urn:example:prefs' }), { 'pubsub#access_model': 'whitelist' });
  assert.equal(same.attrs.type, 'result');
});

test('max_items keeps the newest items, and items get with max_items returns the newest of them', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  for (const n of ['1', '2', '3', '4']) {
    await publish(alice, 'urn:example:log', n, xml('entry', { xmlns: 'urn:example:log' }, n), { 'pubsub#max_items': '3' });
  }
  const ids = async (max?: number) => (await items(alice, 'alice@localhost', 'urn:example:log', max))
    .getChild('pubsub', PUBSUB)!.getChild('items')!.getChildren('item').map((i) => i.attrs.id);
  assert.deepEqual(await ids(), ['2', '3', '4']);
  assert.deepEqual(await ids(2), ['3', '4']);
});

test('a retraction is notified and a deleted node is gone', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  const alice = await online(s, 'alice', [DISCO_INFO, `${NICK}+notify`]);
  await publish(alice, NICK, 'current', nick('Alice'));
  await alice.next(isEvent('alice@localhost', NICK));
  const retract = await alice.iq(xml('iq', { type: 'set' }, xml('pubsub', { xmlns: PUBSUB }, xml('retract', { node: NICK, notify: 'true' }, xml('item', { id: 'current' })))));
  assert.equal(retract.attrs.type, 'result');
  assert.equal(eventItems(await alice.next(isEvent('alice@localhost', NICK))).getChild('retract')!.attrs.id, 'current');
  const del = await alice.iq(xml('iq', { type: 'set' }, xml('pubsub', { xmlns: PUBSUB_OWNER }, xml('delete', { node: NICK }))));
  assert.equal(del.attrs.type, 'result');
  assert.ok((await alice.next(isEvent('alice@localhost', NICK))).getChild('event', EVENT)!.getChild('delete'));
  assert.equal(errorOf(await items(alice, 'alice@localhost', NICK)).condition, 'item-not-found');
});

test('publishing on another account or subscribing explicitly is refused', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  await s.connect('bob');
  const foreign = await alice.iq(xml('iq', { type: 'set', to: 'bob@localhost' }, xml('pubsub', { xmlns: PUBSUB },
    xml('publish', { node: NICK }, xml('item', {}, nick('not bob'))))));
  assert.equal(errorOf(foreign).condition, 'forbidden');
  const subscribe = await alice.iq(xml('iq', { type: 'set', to: 'bob@localhost' }, xml('pubsub', { xmlns: PUBSUB }, xml('subscribe', { node: NICK, jid: alice.jid }))));
  assert.deepEqual(errorOf(subscribe), { condition: 'feature-not-implemented', app: 'unsupported' });
});

test('disco#items of an account lists the nodes the requester may read', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await online(s, 'alice', [DISCO_INFO]);
  const bob = await online(s, 'bob', [DISCO_INFO]);
  await befriend(alice, bob);
  await publish(alice, NICK, 'current', nick('Alice'));
  await publish(alice, 'urn:example:secret', 'x', xml('s', { xmlns: 'urn:example:secret' }), { 'pubsub#access_model': 'whitelist' });
  const nodes = async (c: TestClient) => (await c.iq(xml('iq', { type: 'get', to: 'alice@localhost' }, xml('query', { xmlns: DISCO_ITEMS }))))
    .getChild('query', DISCO_ITEMS)!.getChildren('item').map((i) => i.attrs.node).sort();
  assert.deepEqual(await nodes(alice), [NICK, 'urn:example:secret']);
  assert.deepEqual(await nodes(bob), [NICK]);
});

test('items survive a restart of the server', async (t) => {
  const first = await startServer(null, MODULES);
  await first.createUser('alice');
  const alice = await first.connect('alice');
  await publish(alice, NICK, 'current', nick('Persistent Alice'));
  await first.stop();
  const second = await startServer(t, { ...MODULES, dataDir: first.dataDir });
  const again = await second.connect('alice');
  const got = await items(again, 'alice@localhost', NICK);
  assert.equal(got.getChild('pubsub', PUBSUB)!.getChild('items')!.getChild('item')!.getChildText('nick'), 'Persistent Alice');
});
