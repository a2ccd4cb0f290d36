import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import { writeModule } from '../../test/kit/modules.js';

// A module that drives the core's accountAdmin service from an IQ, as an admin console would.
const adminFixture = writeModule('test-account-admin', `
import { defineModule, Jid, StanzaError } from 'API';
export default defineModule({
  name: 'test-account-admin',
  requires: ['accountAdmin'],
  setup(ctx) {
    const admin = ctx.services.use('accountAdmin');
    ctx.iq.handle({ type: 'set', xmlns: 'urn:test:admin', name: 'command', to: 'server' }, async (iq) => {
      const jid = Jid.parse(iq.payload.attrs.jid);
      switch (iq.payload.attrs.action) {
        case 'create': await admin.create(jid, iq.payload.attrs.password); break;
        case 'disable': await admin.disable(jid, 'left the company'); break;
        case 'enable': await admin.enable(jid); break;
        case 'delete': await admin.delete(jid); break;
        default: throw new StanzaError('bad-request');
      }
    });
  },
});
`);

const command = (action: string, jid: string, password?: string) =>
  xml('iq', { type: 'set', to: 'localhost' }, xml('command', { xmlns: 'urn:test:admin', action, jid, password }));

test('a module creates, disables, enables and deletes local accounts through the core accountAdmin service', async (t) => {
  const s = await startServer(t, { config: { module_paths: [adminFixture], modules: { 'test-account-admin': {}, message: {} } } });
  await s.createUser('root');
  const root = await s.connect('root');
  assert.equal((await root.iq(command('create', 'erin@localhost', 'erin-secret'))).attrs.type, 'result');
  const conflict = await root.iq(command('create', 'erin@localhost', 'x'));
  assert.ok(conflict.getChild('error')!.getChild('conflict'));
  await s.connect('erin');
  assert.equal(s.server.sessions.ofAccount('erin@localhost').length, 1);
  assert.equal((await root.iq(command('disable', 'erin@localhost'))).attrs.type, 'result');
  assert.equal(s.server.sessions.ofAccount('erin@localhost').length, 0, 'the disabled account lost its session');
  await assert.rejects(s.connect('erin'), /account-disabled/);
  await root.iq(command('enable', 'erin@localhost'));
  await s.connect('erin', { resource: 'again' });
  await root.iq(command('delete', 'erin@localhost'));
  await assert.rejects(s.connect('erin'), /not-authorized/);
  const missing = await root.iq(command('delete', 'erin@localhost'));
  assert.ok(missing.getChild('error')!.getChild('item-not-found'));
});
