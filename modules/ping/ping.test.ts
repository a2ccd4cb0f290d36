import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import { RawClient } from '../../test/kit/raw.js';

test('the server answers a ping with an empty result', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const reply = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(reply.attrs.type, 'result');
  assert.equal(reply.attrs.from, 'localhost');
  assert.equal(reply.children.length, 0);
});

test("a ping to another user's bare JID is answered by the server on their behalf", async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const reply = await alice.iq(xml('iq', { type: 'get', to: 'bob@localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(reply.attrs.type, 'result');
  assert.equal(reply.attrs.from, 'bob@localhost');
});

test('a ping to a full JID reaches that client, and its answer comes back', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const bob = await s.connect('bob'); // @xmpp/client answers pings itself
  const reply = await alice.iq(xml('iq', { type: 'get', to: bob.jid }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(reply.attrs.type, 'result');
  assert.equal(reply.attrs.from, bob.jid);
});

test('an idle client is pinged by the server and kept when it answers', async (t) => {
  const s = await startServer(t, { modules: { ping: { keepalive_interval: '1s', keepalive_timeout: '3s' }, disco: {}, message: {} } });
  await s.createUser('alice');
  const c = await RawClient.login(s.ports.c2s, 'alice', 'alice-secret');
  t.after(() => c.destroy());
  const m = await c.waitFor(/<iq [^>]*type="get"[^>]*>\s*<ping xmlns="urn:xmpp:ping"\/>/, 5000);
  const id = /id="([^"]+)"/.exec(m[0])![1];
  c.write(`<iq type='result' id='${id}' to='localhost'/>`);
  c.clear();
  // Still connected: a ping from us is answered.
  c.write("<iq type='get' id='mine' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  await c.waitFor(/id="mine"/);
  assert.equal(c.closed, false);
});

test('an idle client that does not answer the keepalive ping is disconnected', async (t) => {
  const s = await startServer(t, { modules: { ping: { keepalive_interval: '1s', keepalive_timeout: '1s' }, disco: {}, message: {} } });
  await s.createUser('alice');
  const c = await RawClient.login(s.ports.c2s, 'alice', 'alice-secret');
  await c.waitFor(/<ping xmlns="urn:xmpp:ping"\/>/, 5000);
  await c.waitFor(/<connection-timeout xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/, 8000);
  await c.waitClosed();
});
