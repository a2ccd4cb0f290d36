import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import { startServer, type TestServer } from '../../test/kit/server.js';
import type { TestClient } from '../../test/kit/client.js';
import { Stage, handled, type StanzaEvent } from '../../server/api/index.js';
import { Jid } from '../../server/xml/jid.js';
import { isBlocked } from './matcher.js';

const MODULES = { disco: {}, ping: {}, message: {}, blocking: {} };
const BLOCKING = 'urn:xmpp:blocking';
const STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

const chat = (to: string, body: string) => xml('message', { to, type: 'chat', id: `m-${body}` }, xml('body', {}, body));
const isChat = (el: Element) => el.name === 'message' && el.attrs.type !== 'error';
const isError = (el: Element) => el.name === 'message' && el.attrs.type === 'error';
const items = (...jids: string[]) => jids.map((jid) => xml('item', { jid }));
const isPush = (name: 'block' | 'unblock') => (el: Element) => el.name === 'iq' && el.attrs.type === 'set' && el.getChild(name, BLOCKING) !== undefined;
const pushedJids = (iq: Element, name: 'block' | 'unblock') => iq.getChild(name, BLOCKING)!.getChildren('item').map((i) => i.attrs.jid);

async function blocklist(c: TestClient): Promise<string[]> {
  const r = await c.iq(xml('iq', { type: 'get' }, xml('blocklist', { xmlns: BLOCKING })));
  assert.equal(r.attrs.type, 'result');
  return r.getChild('blocklist', BLOCKING)!.getChildren('item').map((i) => i.attrs.jid!);
}

async function block(c: TestClient, ...jids: string[]): Promise<void> {
  const r = await c.iq(xml('iq', { type: 'set' }, xml('block', { xmlns: BLOCKING }, ...items(...jids))));
  assert.equal(r.attrs.type, 'result', String(r));
}

async function unblock(c: TestClient, ...jids: string[]): Promise<void> {
  const r = await c.iq(xml('iq', { type: 'set' }, xml('unblock', { xmlns: BLOCKING }, ...items(...jids))));
  assert.equal(r.attrs.type, 'result', String(r));
}

/** Directed presence reaches its addressee, as the presence module will do; returns what was routed. */
function routeDirectedPresence(s: TestServer): StanzaEvent[] {
  const routed: StanzaEvent[] = [];
  const deliver = (e: StanzaEvent) => {
    routed.push(e);
    const sessions = e.to.resource ? [s.server.sessions.byFullJid(e.to.full)].filter((x) => x !== undefined) : s.server.sessions.availableOf(e.to.bare);
    for (const session of sessions) session.deliver(e.stanza);
    return handled();
  };
  s.server.hooks.add('presence/full', deliver, Stage.HANDLE, 'test-presence');
  s.server.hooks.add('presence/bare', deliver, Stage.HANDLE, 'test-presence');
  return routed;
}

test('a user blocks and unblocks a contact, and both resources that asked for the list get the pushes', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const phone = await s.connect('alice', { resource: 'phone' });
  const desk = await s.connect('alice', { resource: 'desk' });
  assert.deepEqual(await blocklist(phone), []);
  assert.deepEqual(await blocklist(desk), []);

  await block(phone, 'mallory@localhost', 'spam.example');
  assert.deepEqual(pushedJids(await phone.next(isPush('block')), 'block'), ['mallory@localhost', 'spam.example']);
  assert.deepEqual(pushedJids(await desk.next(isPush('block')), 'block'), ['mallory@localhost', 'spam.example']);
  assert.deepEqual(await blocklist(desk), ['mallory@localhost', 'spam.example']);

  await unblock(desk, 'mallory@localhost');
  assert.deepEqual(pushedJids(await phone.next(isPush('unblock')), 'unblock'), ['mallory@localhost']);
  assert.deepEqual(pushedJids(await desk.next(isPush('unblock')), 'unblock'), ['mallory@localhost']);
  assert.deepEqual(await blocklist(phone), ['spam.example']);
});

test('a resource that never asked for the block list gets no push', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const phone = await s.connect('alice', { resource: 'phone' });
  const watch = await s.connect('alice', { resource: 'watch' });
  await blocklist(phone);
  await block(phone, 'mallory@localhost');
  await phone.next(isPush('block'));
  await watch.nothing(isPush('block'));
});

test('a block without items is a bad request, and an invalid JID is jid-malformed', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const empty = await alice.iq(xml('iq', { type: 'set' }, xml('block', { xmlns: BLOCKING })));
  assert.equal(empty.attrs.type, 'error');
  assert.ok(empty.getChild('error')!.getChild('bad-request', STANZAS));
  const bad = await alice.iq(xml('iq', { type: 'set' }, xml('block', { xmlns: BLOCKING }, ...items('@nobody'))));
  assert.equal(bad.attrs.type, 'error');
  assert.ok(bad.getChild('error')!.getChild('jid-malformed', STANZAS));
  assert.deepEqual(await blocklist(alice), []);
});

test('a message from a blocked contact gets service-unavailable and is not delivered', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('mallory');
  const alice = await s.connect('alice');
  const mallory = await s.connect('mallory');
  await block(alice, 'mallory@localhost');
  await mallory.send(chat('alice@localhost', 'let me in'));
  const err = await mallory.next(isError);
  assert.equal(err.attrs.from, 'alice@localhost');
  assert.equal(err.attrs.id, 'm-let me in');
  assert.ok(err.getChild('error')!.getChild('service-unavailable', STANZAS));
  assert.equal(err.getChild('error')!.getChild('blocked', 'urn:xmpp:blocking:errors'), undefined, 'the contact is not told about the block');
  await alice.nothing(isChat);
});

test('an IQ from a blocked contact gets service-unavailable instead of reaching the client', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('mallory');
  const alice = await s.connect('alice');
  const mallory = await s.connect('mallory');
  await block(alice, 'mallory@localhost');
  const r = await mallory.iq(xml('iq', { type: 'get', to: alice.jid }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(r.attrs.type, 'error');
  assert.ok(r.getChild('error')!.getChild('service-unavailable', STANZAS));
});

test('a message to a blocked contact gets not-acceptable with the blocked condition', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('mallory');
  const alice = await s.connect('alice');
  const mallory = await s.connect('mallory');
  await block(alice, 'mallory@localhost');
  await alice.send(chat(mallory.jid, 'oops'));
  const err = await alice.next(isError);
  assert.equal(err.attrs.id, 'm-oops');
  const error = err.getChild('error')!;
  assert.equal(error.attrs.type, 'cancel');
  assert.ok(error.getChild('not-acceptable', STANZAS));
  assert.ok(error.getChild('blocked', 'urn:xmpp:blocking:errors'));
  await mallory.nothing(isChat);
});

test('presence from a blocked contact is not delivered and not answered', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  routeDirectedPresence(s);
  await s.createUser('alice');
  await s.createUser('mallory');
  const alice = await s.connect('alice');
  const mallory = await s.connect('mallory');
  const fromMallory = (el: Element) => el.name === 'presence' && el.attrs.from === mallory.jid;
  await mallory.send(xml('presence', { to: alice.jid }, xml('status', {}, 'before')));
  assert.equal((await alice.next(fromMallory)).getChildText('status'), 'before');

  await block(alice, 'mallory@localhost');
  await mallory.send(xml('presence', { to: alice.jid }, xml('status', {}, 'after')));
  await mallory.send(xml('presence', { to: 'alice@localhost', type: 'subscribe' }));
  await alice.nothing(fromMallory);
  await mallory.nothing((el) => el.name === 'presence' && el.attrs.type === 'error');
});

test('blocking a domain blocks everyone on it, but not the server itself', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const bob = await s.connect('bob');
  await block(alice, 'localhost');
  await bob.send(chat('alice@localhost', 'hi from the same domain'));
  assert.ok((await bob.next(isError)).getChild('error')!.getChild('service-unavailable', STANZAS));
  await alice.send(chat(bob.jid, 'hi back'));
  assert.ok((await alice.next(isError)).getChild('error')!.getChild('blocked', 'urn:xmpp:blocking:errors'));
  // The server itself still answers, and the user can still manage the list.
  const pong = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(pong.attrs.type, 'result');
  await unblock(alice, 'localhost');
  await bob.send(chat('alice@localhost', 'hi again'));
  assert.equal((await alice.next(isChat)).getChildText('body'), 'hi again');
});

test('a blocked domain also covers its subdomains', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  await block(alice, 'example.com');
  await alice.send(chat('room@conference.example.com', 'anyone?'));
  assert.ok((await alice.next(isError)).getChild('error')!.getChild('blocked', 'urn:xmpp:blocking:errors'));
});

test('unblocking all contacts with an empty unblock lets everyone through again', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  await s.createUser('mallory');
  const alice = await s.connect('alice');
  const bob = await s.connect('bob');
  const mallory = await s.connect('mallory');
  assert.deepEqual(await blocklist(alice), []);
  await block(alice, 'bob@localhost', 'mallory@localhost');
  await alice.next(isPush('block'));

  await unblock(alice);
  const push = await alice.next(isPush('unblock'));
  assert.deepEqual(pushedJids(push, 'unblock'), [], 'an empty unblock push means everything');
  assert.deepEqual(await blocklist(alice), []);
  await bob.send(chat('alice@localhost', 'from bob'));
  await mallory.send(chat('alice@localhost', 'from mallory'));
  const bodies = [(await alice.next(isChat)).getChildText('body'), (await alice.next(isChat)).getChildText('body')].sort();
  assert.deepEqual(bodies, ['from bob', 'from mallory']);
});

test('blocking a subscriber sends them unavailable presence from each available resource, unblocking sends presence again', async (t) => {
  const s = await startServer(t, { modules: { ...MODULES, roster: {}, presence: {} } });
  await s.createUser('alice');
  await s.createUser('mallory');
  const phone = await s.connect('alice', { resource: 'phone', priority: 1 });
  await phone.send(xml('presence', {}, xml('status', {}, 'on the phone')));
  const desk = await s.connect('alice', { resource: 'desk' });
  const mallory = await s.connect('mallory');
  const fromAlice = (type?: string) => (el: Element) => el.name === 'presence' && el.attrs.type === type && el.attrs.from?.startsWith('alice@localhost/') === true;
  // mallory is subscribed to alice's presence (alice's roster: mallory 'from').
  await mallory.send(xml('presence', { type: 'subscribe', to: 'alice@localhost' }));
  await phone.next((el) => el.name === 'presence' && el.attrs.type === 'subscribe');
  await phone.send(xml('presence', { type: 'subscribed', to: 'mallory@localhost' }));
  await mallory.next((el) => fromAlice()(el) && el.attrs.from === phone.jid);
  await mallory.next((el) => fromAlice()(el) && el.attrs.from === desk.jid);

  await block(phone, 'mallory@localhost');
  const gone = [(await mallory.next(fromAlice('unavailable'))).attrs.from, (await mallory.next(fromAlice('unavailable'))).attrs.from].sort();
  assert.deepEqual(gone, [desk.jid, phone.jid].sort());

  await unblock(phone, 'mallory@localhost');
  const back = await mallory.next((el) => fromAlice()(el) && el.attrs.from === phone.jid);
  assert.equal(back.getChildText('status'), 'on the phone');
  await mallory.next((el) => fromAlice()(el) && el.attrs.from === desk.jid);
});

test('blocking and unblocking someone who is not subscribed tells them nothing about the user', async (t) => {
  const s = await startServer(t, { modules: { ...MODULES, roster: {}, presence: {} } });
  await s.createUser('alice');
  await s.createUser('mallory');
  const phone = await s.connect('alice', { resource: 'phone' });
  await phone.send(xml('presence', {}, xml('status', {}, 'private status')));
  const mallory = await s.connect('mallory');
  await block(phone, 'mallory@localhost');
  await unblock(phone, 'mallory@localhost');
  await mallory.nothing((el) => el.name === 'presence' && el.attrs.from?.startsWith('alice@') === true);
});

test('messages stored offline before a block are not delivered from the blocked contact', async (t) => {
  const s = await startServer(t, { modules: { ...MODULES, offline: {} } });
  await s.createUser('alice');
  await s.createUser('mallory');
  await s.createUser('bob');
  const mallory = await s.connect('mallory');
  const bob = await s.connect('bob');
  await mallory.send(chat('alice@localhost', 'spam while you sleep'));
  await bob.send(chat('alice@localhost', 'a real message'));
  // Each sender's stanzas are handled in order: once their ping is answered, the message is stored.
  for (const c of [mallory, bob]) await c.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));

  const blocker = await s.connect('alice', { resource: 'blocker', presence: false });
  await block(blocker, 'mallory@localhost');
  const alice = await s.connect('alice', { resource: 'phone' });
  assert.equal((await alice.next(isChat)).getChildText('body'), 'a real message');
  await alice.nothing(isChat);
});

test('the block list survives a server restart', async (t) => {
  const first = await startServer(t, { modules: MODULES });
  await first.createUser('alice');
  await first.createUser('mallory');
  await block(await first.connect('alice'), 'mallory@localhost');
  await first.stop();

  const second = await startServer(t, { dataDir: first.dataDir, modules: MODULES });
  const alice = await second.connect('alice');
  const mallory = await second.connect('mallory');
  assert.deepEqual(await blocklist(alice), ['mallory@localhost']);
  await mallory.send(chat('alice@localhost', 'still there?'));
  assert.ok((await mallory.next(isError)).getChild('error')!.getChild('service-unavailable', STANZAS));
});

test('the server and accounts advertise urn:xmpp:blocking', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  for (const to of ['localhost', 'alice@localhost']) {
    const info = await alice.iq(xml('iq', { type: 'get', to }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    const features = info.getChild('query')!.getChildren('feature').map((f) => f.attrs.var);
    assert.ok(features.includes(BLOCKING), `${to} advertises blocking`);
  }
});

test('JID matching follows XEP-0191 section 4', () => {
  const list = (...jids: string[]) => new Set(jids);
  const j = (s: string) => Jid.parse(s);
  // user@domain/resource: only that resource.
  assert.equal(isBlocked(list('a@x.org/phone'), j('a@x.org/phone')), true);
  assert.equal(isBlocked(list('a@x.org/phone'), j('a@x.org/desk')), false);
  assert.equal(isBlocked(list('a@x.org/phone'), j('a@x.org')), false);
  // user@domain: any resource.
  assert.equal(isBlocked(list('a@x.org'), j('a@x.org/desk')), true);
  assert.equal(isBlocked(list('a@x.org'), j('b@x.org')), false);
  // domain/resource: that resource of the domain.
  assert.equal(isBlocked(list('x.org/bot'), j('x.org/bot')), true);
  assert.equal(isBlocked(list('x.org/bot'), j('x.org/other')), false);
  // domain: the domain, everyone on it, and subdomains.
  assert.equal(isBlocked(list('x.org'), j('x.org')), true);
  assert.equal(isBlocked(list('x.org'), j('a@x.org/phone')), true);
  assert.equal(isBlocked(list('x.org'), j('room@muc.x.org/nick')), true);
  assert.equal(isBlocked(list('x.org'), j('a@notx.org')), false);
  // IP literals have no parent domains.
  assert.equal(isBlocked(list('0.0.1'), j('a@10.0.0.1')), false);
  // Prepared forms compare equal.
  assert.equal(isBlocked(list('a@x.org'), j('A@X.ORG/desk')), true);
});
