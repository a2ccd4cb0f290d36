import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';

test('disco#info on the server lists its identity and the features of every loaded module', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const reply = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  const q = reply.getChild('query')!;
  const identity = q.getChild('identity')!;
  assert.equal(identity.attrs.category, 'server');
  assert.equal(identity.attrs.type, 'im');
  const features = q.getChildren('feature').map((f) => f.attrs.var);
  for (const f of ['http://jabber.org/protocol/disco#info', 'http://jabber.org/protocol/disco#items', 'urn:xmpp:ping', 'jabber:iq:version', 'urn:xmpp:time']) {
    assert.ok(features.includes(f), `missing ${f} in ${features.join(', ')}`);
  }
});

test('a module that is not loaded does not appear in disco', async (t) => {
  const s = await startServer(t, { modules: { disco: {}, message: {} } });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const reply = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  const features = reply.getChild('query')!.getChildren('feature').map((f) => f.attrs.var);
  assert.ok(!features.includes('urn:xmpp:ping'));
});

test('disco#items on the server lists the configured services', async (t) => {
  const s = await startServer(t, { modules: { disco: { items: [{ jid: 'gateway.example.com', name: 'Gateway' }] }, message: {} } });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const reply = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
  const items = reply.getChild('query')!.getChildren('item');
  assert.deepEqual(items.map((i) => [i.attrs.jid, i.attrs.name]), [['gateway.example.com', 'Gateway']]);
});

test('disco#info on an account answers with the account identity', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const reply = await alice.iq(xml('iq', { type: 'get', to: 'bob@localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  const identity = reply.getChild('query')!.getChild('identity')!;
  assert.equal(identity.attrs.category, 'account');
  assert.equal(identity.attrs.type, 'registered');
});

test('disco#info for an unknown node gets item-not-found', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const reply = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info', node: 'nope' })));
  assert.equal(reply.attrs.type, 'error');
  assert.ok(reply.getChild('error')!.getChild('item-not-found'));
});
