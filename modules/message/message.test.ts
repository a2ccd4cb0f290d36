import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';

const msg = (to: string, body: string, type = 'chat') => xml('message', { to, type }, xml('body', {}, body));

test('a message to a bare JID goes to the highest-priority resource only', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const desk = await s.connect('bob', { resource: 'desk', priority: 10 });
  const phone = await s.connect('bob', { resource: 'phone', priority: 1 });
  await alice.send(msg('bob@localhost', 'to the desk'));
  assert.equal((await desk.next((el) => el.name === 'message')).getChildText('body'), 'to the desk');
  await phone.nothing((el) => el.name === 'message');
});

test('resources with equal top priority all get a message to the bare JID', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const a = await s.connect('bob', { resource: 'a', priority: 5 });
  const b = await s.connect('bob', { resource: 'b', priority: 5 });
  await alice.send(msg('bob@localhost', 'both'));
  await a.next((el) => el.name === 'message');
  await b.next((el) => el.name === 'message');
});

// Without offline storage, so that what no resource takes is bounced where the test can see it.
const WITHOUT_OFFLINE = { modules: { disco: {}, ping: {}, message: {} } };

test('a negative-priority resource gets nothing sent to the bare JID', async (t) => {
  const s = await startServer(t, WITHOUT_OFFLINE);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const bot = await s.connect('bob', { resource: 'bot', priority: -1 });
  await alice.send(msg('bob@localhost', 'anyone?'));
  const err = await alice.next((el) => el.name === 'message' && el.attrs.type === 'error');
  assert.ok(err.getChild('error')!.getChild('service-unavailable'));
  await bot.nothing((el) => el.name === 'message' && el.attrs.type !== 'error');
});

test('a headline to a bare JID goes to every non-negative resource', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const a = await s.connect('bob', { resource: 'a', priority: 5 });
  const b = await s.connect('bob', { resource: 'b', priority: 0 });
  await alice.send(msg('bob@localhost', 'news', 'headline'));
  await a.next((el) => el.name === 'message');
  await b.next((el) => el.name === 'message');
});

test('a chat message to a resource that is gone goes to the bare JID instead', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const bob = await s.connect('bob', { resource: 'desk' });
  await alice.send(msg('bob@localhost/laptop', 'rerouted'));
  assert.equal((await bob.next((el) => el.name === 'message')).getChildText('body'), 'rerouted');
});

test('a groupchat message to a bare JID gets service-unavailable', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  await s.connect('bob');
  await alice.send(msg('bob@localhost', 'room?', 'groupchat'));
  const err = await alice.next((el) => el.name === 'message' && el.attrs.type === 'error');
  assert.ok(err.getChild('error')!.getChild('service-unavailable'));
});

test('a message to an offline user without offline storage is bounced, not dropped', async (t) => {
  const s = await startServer(t, WITHOUT_OFFLINE);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  await alice.send(msg('bob@localhost', 'are you there'));
  const err = await alice.next((el) => el.name === 'message' && el.attrs.type === 'error');
  assert.equal(err.attrs.from, 'bob@localhost');
  assert.ok(err.getChild('error')!.getChild('service-unavailable'));
});

test('an error message is never answered with another error', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  await alice.send(xml('message', { to: 'ghost@localhost', type: 'error' }, xml('error', { type: 'cancel' }, xml('undefined-condition', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }))));
  await alice.nothing((el) => el.name === 'message');
});
