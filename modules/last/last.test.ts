import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import { startServer, type TestServer } from '../../test/kit/server.js';
import type { TestClient } from '../../test/kit/client.js';

const LAST = 'jabber:iq:last';
const MODULES = { disco: {}, message: {}, last: {} };

function askLast(client: TestClient, to?: string): Promise<Element> {
  return client.iq(xml('iq', { type: 'get', to }, xml('query', { xmlns: LAST })));
}

function secondsOf(reply: Element): number {
  assert.equal(reply.attrs.type, 'result', reply.toString());
  const seconds = reply.getChild('query', LAST)!.attrs.seconds!;
  assert.match(seconds, /^\d+$/);
  return Number(seconds);
}

/** The server has noticed that every session of `bare` is gone (a killed client's TCP connection). */
async function sessionsGone(s: TestServer, bare: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (s.server.sessions.ofAccount(bare).length > 0) {
    if (Date.now() > deadline) throw new Error(`${bare} still has sessions after ${timeoutMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('after logging out, an account learns how long ago that was and the status it left with', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const before = await s.connect('alice');
  await before.send(xml('presence', { type: 'unavailable' }, xml('status', {}, 'Heading Home')));
  await before.stop();
  const after = await s.connect('alice', { presence: false });
  const reply = await askLast(after, 'alice@localhost');
  assert.ok(secondsOf(reply) < 60);
  assert.equal(reply.getChild('query', LAST)!.getText(), 'Heading Home');
  assert.equal(reply.attrs.from, 'alice@localhost');
});

test('a session that drops without a word is a logout without a status', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const dropped = await s.connect('alice');
  await dropped.send(xml('presence', { type: 'unavailable' }, xml('status', {}, 'Earlier')));
  await dropped.send(xml('presence'));
  // An answered IQ means the server has handled both presences (one session's stanzas are processed in order).
  await dropped.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  dropped.kill();
  await sessionsGone(s, 'alice@localhost');
  const after = await s.connect('alice', { presence: false });
  const reply = await askLast(after);
  assert.ok(secondsOf(reply) < 60);
  assert.equal(reply.getChild('query', LAST)!.getText(), '');
});

test('while one of its resources is available, an account was last active zero seconds ago', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.connect('alice', { resource: 'phone' });
  const laptop = await s.connect('alice', { resource: 'laptop', presence: false });
  const reply = await askLast(laptop, 'alice@localhost');
  assert.equal(secondsOf(reply), 0);
  assert.equal(reply.getChild('query', LAST)!.children.length, 0);
});

test('an account that has never logged out gets item-not-found', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const alice = await s.connect('alice', { presence: false });
  const reply = await askLast(alice);
  assert.equal(reply.attrs.type, 'error');
  assert.equal(reply.getChild('error')!.getChildElements()[0]!.name, 'item-not-found');
});

test('the server answers with its uptime and no text', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const reply = await askLast(alice, 'localhost');
  assert.ok(secondsOf(reply) < 60);
  assert.equal(reply.attrs.from, 'localhost');
  assert.equal(reply.getChild('query', LAST)!.children.length, 0);
});

test("another account's last activity is forbidden, and an unknown account's is service-unavailable", async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  await alice.send(xml('presence', { type: 'unavailable' }, xml('status', {}, 'secret')));
  const bob = await s.connect('bob');
  const reply = await askLast(bob, 'alice@localhost');
  assert.equal(reply.attrs.type, 'error');
  assert.equal(reply.getChild('error')!.getChildElements()[0]!.name, 'forbidden');
  assert.doesNotMatch(reply.toString(), /secret/);
  const unknown = await askLast(bob, 'nobody@localhost');
  assert.equal(unknown.getChild('error')!.getChildElements()[0]!.name, 'service-unavailable');
});
