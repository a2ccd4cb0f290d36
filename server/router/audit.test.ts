import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import { writeModule } from '../../test/kit/modules.js';

// An archive that cannot write: its stanza/audit listener is failClosed and throws for bodies
// containing "disk full". What could not be recorded must not be delivered.
const brokenArchive = writeModule('test-broken-archive', `
import { defineModule } from 'API';
export default defineModule({
  name: 'test-broken-archive',
  setup(ctx) {
    ctx.events.on('stanza/audit', ({ event }) => {
      if (event.stanza.getChildText('body')?.includes('disk full')) throw new Error('SQLITE_FULL');
    }, { failClosed: true });
  },
});
`);

test('a stanza whose audit fails is not delivered and the sender gets internal-server-error', async (t) => {
  const s = await startServer(t, { config: { module_paths: [brokenArchive], modules: { message: {}, 'test-broken-archive': {} } } });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const bob = await s.connect('bob');
  await alice.send(xml('message', { to: bob.jid, type: 'chat', id: 'm1' }, xml('body', {}, 'disk full now')));
  const err = await alice.next((el) => el.name === 'message' && el.attrs.type === 'error');
  assert.equal(err.attrs.id, 'm1');
  assert.ok(err.getChild('error')!.getChild('internal-server-error'));
  await bob.nothing((el) => el.name === 'message');
  // Other traffic still flows.
  await alice.send(xml('message', { to: bob.jid, type: 'chat' }, xml('body', {}, 'recorded fine')));
  assert.equal((await bob.next((el) => el.name === 'message')).getChildText('body'), 'recorded fine');
});
