import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import { packageVersion } from '../../server/paths.js';

test('the server tells its software name and version, without the OS by default', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const reply = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'jabber:iq:version' })));
  const q = reply.getChild('query', 'jabber:iq:version')!;
  assert.equal(q.getChildText('name'), 'Parley');
  assert.equal(q.getChildText('version'), packageVersion());
  assert.equal(q.getChild('os'), undefined);
});

test('the operating system is included when show_os is on', async (t) => {
  const s = await startServer(t, { modules: { version: { show_os: true } } });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const reply = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'jabber:iq:version' })));
  assert.ok(reply.getChild('query', 'jabber:iq:version')!.getChildText('os'));
});
