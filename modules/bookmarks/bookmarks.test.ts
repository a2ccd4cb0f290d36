import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { xml, type Element } from '@xmpp/xml';
import { startServer, type TestServer } from '../../test/kit/server.js';
import type { TestClient } from '../../test/kit/client.js';

const PUBSUB = 'http://jabber.org/protocol/pubsub';
const EVENT = 'http://jabber.org/protocol/pubsub#event';
const DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const CAPS = 'http://jabber.org/protocol/caps';
const PRIVATE = 'jabber:iq:private';
const BOOKMARKS = 'urn:xmpp:bookmarks:1';
const LEGACY = 'storage:bookmarks';
const MODULES = { modules: { disco: {}, ping: {}, message: {}, roster: {}, presence: {}, caps: {}, pep: {}, private: {}, bookmarks: {} } };

let clientNumber = 0;

/** Initial presence with XEP-0115 caps, answering the server's disco#info query (see pep.test.ts). */
async function online(s: TestServer, user: string, features: string[], resource = 'phone'): Promise<TestClient> {
  const c = await s.connect(user, { resource, presence: false });
  const name = `Bookmarks client ${++clientNumber}`;
  const all = [DISCO_INFO, ...features];
  const ver = crypto.createHash('sha1').update(`client/pc//${name}<${[...all].sort().map((f) => `${f}<`).join('')}`).digest('base64');
  c.xmpp.iqCallee.get(DISCO_INFO, 'query', (ctx: unknown) => xml('query', { xmlns: DISCO_INFO, node: (ctx as { element: Element }).element.attrs.node },
    xml('identity', { category: 'client', type: 'pc', name }), ...all.map((f) => xml('feature', { var: f }))));
  const answered = new Promise<void>((resolve) => {
    const onSend = (el: Element) => { if (el.name === 'iq' && el.getChild('query', DISCO_INFO)) { c.xmpp.off('send', onSend); resolve(); } };
    c.xmpp.on('send', onSend);
  });
  await c.send(xml('presence', {}, xml('c', { xmlns: CAPS, hash: 'sha-1', node: 'https://example.org/test', ver })));
  await answered;
  await c.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  return c;
}

/** XEP-0402 section 4.1: publish one bookmark with the options the XEP asks for. */
function publishBookmark(c: TestClient, room: string, name: string, nick: string, withOptions = true): Promise<Element> {
  const options = withOptions ? xml('publish-options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#publish-options')),
    xml('field', { var: 'pubsub#persist_items' }, xml('value', {}, 'true')),
    xml('field', { var: 'pubsub#max_items' }, xml('value', {}, 'max')),
    xml('field', { var: 'pubsub#send_last_published_item' }, xml('value', {}, 'never')),
    xml('field', { var: 'pubsub#access_model' }, xml('value', {}, 'whitelist')))) : null;
  return c.iq(xml('iq', { type: 'set' }, xml('pubsub', { xmlns: PUBSUB },
    xml('publish', { node: BOOKMARKS }, xml('item', { id: room },
      xml('conference', { xmlns: BOOKMARKS, name, autojoin: 'true' }, xml('nick', {}, nick)))), options)));
}

const pepBookmarks = async (c: TestClient, owner = c.bare) => {
  const r = await c.iq(xml('iq', { type: 'get', to: owner }, xml('pubsub', { xmlns: PUBSUB }, xml('items', { node: BOOKMARKS }))));
  return r.attrs.type === 'result' ? r.getChild('pubsub', PUBSUB)!.getChild('items')!.getChildren('item') : r;
};
const legacyGet = async (c: TestClient) => {
  const r = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: PRIVATE }, xml('storage', { xmlns: LEGACY }))));
  assert.equal(r.attrs.type, 'result', r.toString());
  return r.getChild('query', PRIVATE)!.getChild('storage', LEGACY)!;
};
const legacySet = (c: TestClient, ...children: Element[]) =>
  c.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: PRIVATE }, xml('storage', { xmlns: LEGACY }, ...children))));
const isBookmarkEvent = (el: Element) => el.name === 'message' && el.getChild('event', EVENT)?.getChild('items')?.attrs.node === BOOKMARKS;

test('compatibility with legacy bookmarks is announced on the account', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const info = await alice.iq(xml('iq', { type: 'get', to: 'alice@localhost' }, xml('query', { xmlns: DISCO_INFO })));
  assert.ok(info.getChild('query', DISCO_INFO)!.getChildren('feature').some((f) => f.attrs.var === `${BOOKMARKS}#compat`));
});

test('a bookmark published per XEP-0402 reaches the owner\'s other device and no contact', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const phone = await online(s, 'alice', [`${BOOKMARKS}+notify`]);
  const desk = await online(s, 'alice', [], 'desk');
  const bob = await online(s, 'bob', [`${BOOKMARKS}+notify`]);
  // Make bob a contact who would see alice's presence-model nodes.
  await bob.send(xml('presence', { type: 'subscribe', to: 'alice@localhost' }));
  await phone.next((el) => el.name === 'presence' && el.attrs.type === 'subscribe');
  await phone.send(xml('presence', { type: 'subscribed', to: 'bob@localhost' }));

  const r = await publishBookmark(desk, 'tea@rooms.localhost', 'Tea room', 'Alice');
  assert.equal(r.attrs.type, 'result', r.toString());
  const event = await phone.next(isBookmarkEvent);
  const item = event.getChild('event', EVENT)!.getChild('items')!.getChild('item')!;
  assert.equal(item.attrs.id, 'tea@rooms.localhost');
  assert.equal(item.getChild('conference', BOOKMARKS)!.getChildText('nick'), 'Alice');
  await bob.nothing(isBookmarkEvent);
  const refused = await pepBookmarks(bob, 'alice@localhost') as Element;
  assert.equal(refused.getChild('error')!.getChildElements()[0]!.name, 'not-allowed');
});

test('a bookmark published without publish-options is private all the same', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await online(s, 'alice', []);
  const bob = await online(s, 'bob', [`${BOOKMARKS}+notify`]);
  await bob.send(xml('presence', { type: 'subscribe', to: 'alice@localhost' }));
  await alice.next((el) => el.name === 'presence' && el.attrs.type === 'subscribe');
  await alice.send(xml('presence', { type: 'subscribed', to: 'bob@localhost' }));
  assert.equal((await publishBookmark(alice, 'tea@rooms.localhost', 'Tea', 'A', false)).attrs.type, 'result');
  await bob.nothing(isBookmarkEvent);
  assert.equal(((await pepBookmarks(bob, 'alice@localhost')) as Element).attrs.type, 'error');
});

test('XEP-0402 bookmarks are seen by a legacy client in private storage', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  const modern = await s.connect('alice', { resource: 'modern' });
  const legacy = await s.connect('alice', { resource: 'legacy' });
  await publishBookmark(modern, 'tea@rooms.localhost', 'Tea room', 'Alice');
  await publishBookmark(modern, 'chess@rooms.localhost', 'Chess', 'Queen');
  const storage = await legacyGet(legacy);
  const conferences = storage.getChildren('conference').sort((a, b) => (a.attrs.jid! < b.attrs.jid! ? -1 : 1));
  assert.deepEqual(conferences.map((c) => c.attrs.jid), ['chess@rooms.localhost', 'tea@rooms.localhost']);
  const tea = conferences[1]!;
  assert.equal(tea.attrs.name, 'Tea room');
  assert.equal(tea.attrs.autojoin, 'true');
  assert.equal(tea.getChildText('nick'), 'Alice');
});

test('bookmarks stored by a legacy client appear in PEP, notified to XEP-0402 clients, and removals are retracted', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  const modern = await online(s, 'alice', [`${BOOKMARKS}+notify`], 'modern');
  const legacy = await s.connect('alice', { resource: 'legacy' });
  const conference = (jid: string, name: string) => xml('conference', { jid, name, autojoin: '1' }, xml('nick', {}, 'Al'), xml('password', {}, 'pw'));
  const url = xml('url', { name: 'Home', url: 'https://example.org/' });
  assert.equal((await legacySet(legacy, conference('tea@rooms.localhost', 'Tea'), conference('chess@rooms.localhost', 'Chess'), url)).attrs.type, 'result');
  const seen = new Set<string>();
  for (let i = 0; i < 2; i++) seen.add((await modern.next(isBookmarkEvent)).getChild('event', EVENT)!.getChild('items')!.getChild('item')!.attrs.id!);
  assert.deepEqual([...seen].sort(), ['chess@rooms.localhost', 'tea@rooms.localhost']);
  const items = await pepBookmarks(modern) as Element[];
  const tea = items.find((i) => i.attrs.id === 'tea@rooms.localhost')!.getChild('conference', BOOKMARKS)!;
  assert.equal(tea.attrs.autojoin, 'true');
  assert.equal(tea.getChildText('password'), 'pw');

  // The legacy client drops the chess room: XEP-0402 clients are told it is gone.
  await legacySet(legacy, conference('tea@rooms.localhost', 'Tea'), url);
  const retract = (await modern.next(isBookmarkEvent)).getChild('event', EVENT)!.getChild('items')!.getChild('retract')!;
  assert.equal(retract.attrs.id, 'chess@rooms.localhost');
  assert.deepEqual((await pepBookmarks(modern) as Element[]).map((i) => i.attrs.id), ['tea@rooms.localhost']);
  // What XEP-0402 cannot hold (URL bookmarks) is still there for the legacy client.
  const storage = await legacyGet(legacy);
  assert.equal(storage.getChild('url')!.attrs.url, 'https://example.org/');
});

test('a legacy bookmark with a JID that is no room is refused', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const r = await legacySet(alice, xml('conference', { jid: 'not a jid@@', name: 'x' }));
  assert.equal(r.getChild('error')!.getChildElements()[0]!.name, 'not-acceptable');
});

test('bookmarks kept in private storage before the module was enabled move to PEP', async (t) => {
  const before = await startServer(null, { modules: { disco: {}, private: {} } });
  await before.createUser('alice');
  const old = await before.connect('alice');
  await legacySet(old, xml('conference', { jid: 'tea@rooms.localhost', name: 'Tea', autojoin: 'true' }, xml('nick', {}, 'Al')));
  await before.stop();
  const s = await startServer(t, { ...MODULES, dataDir: before.dataDir });
  const alice = await s.connect('alice');
  assert.equal((await legacyGet(alice)).getChild('conference')!.attrs.jid, 'tea@rooms.localhost');
  assert.deepEqual((await pepBookmarks(alice) as Element[]).map((i) => i.attrs.id), ['tea@rooms.localhost']);
});
