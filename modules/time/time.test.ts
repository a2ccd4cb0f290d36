import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';

test("the server answers with its UTC time and zone offset", async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const before = Date.now();
  const reply = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('time', { xmlns: 'urn:xmpp:time' })));
  const time = reply.getChild('time', 'urn:xmpp:time')!;
  assert.match(time.getChildText('tzo')!, /^[+-]\d{2}:\d{2}$/);
  const utc = Date.parse(time.getChildText('utc')!);
  assert.ok(Math.abs(utc - before) < 5000, `server time ${time.getChildText('utc')} is not now`);
  assert.match(time.getChildText('utc')!, /Z$/);
});
