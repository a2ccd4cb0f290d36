import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../test/kit/server.js';
import { writeModule } from '../../test/kit/modules.js';
import { RawClient } from '../../test/kit/raw.js';

// A provider like the directory: it checks passwords itself (no SCRAM credentials), knows "dana"
// under the login "dana.m", and is unreachable for the login "flaky".
const directoryLike = writeModule('fake-directory', `
import { defineModule, AuthUnavailableError } from 'API';
export default defineModule({
  name: 'fake-directory',
  setup(ctx) {
    ctx.auth.addProvider({
      name: 'fake-directory',
      exists: (local) => local === 'dana',
      async verifyPassword(login, domain, password) {
        if (login === 'flaky') throw new AuthUnavailableError('directory down');
        if (login !== 'dana.m') return 'unknown';
        return password === 'dir-secret' ? 'ok' : 'wrong';
      },
      async canonicalLocal(login) { return login === 'dana.m' ? 'dana' : null; },
      async loginRefusal(local) { return local === 'dana' && ctx.config.locked ? 'locked in the directory' : null; },
      sessionKind: (local) => (local === 'dana' ? 'partner' : undefined),
    });
  },
});
`);


test('a domain served by a password-checking provider offers PLAIN only', async (t) => {
  const s = await startServer(t, { config: { module_paths: [directoryLike], modules: { 'fake-directory': {}, message: {} } } });
  const c = await RawClient.secured(s.ports.c2s);
  t.after(() => c.destroy());
  const mechs = [...c.received.matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((m) => m[1]);
  assert.deepEqual(mechs, ['PLAIN']);
});

test("a provider's user logs in with its login name and gets the provider's localpart", async (t) => {
  const s = await startServer(t, { config: { module_paths: [directoryLike], modules: { 'fake-directory': {}, message: {} } } });
  const c = await RawClient.secured(s.ports.c2s);
  t.after(() => c.destroy());
  await c.authenticatePlain('dana.m', 'dir-secret');
  assert.equal(await c.bind('desk'), 'dana@localhost/desk');
  assert.equal(s.server.sessions.byFullJid('dana@localhost/desk')?.kind, 'partner');
});

test('local accounts still log in beside the provider on the same domain', async (t) => {
  const s = await startServer(t, { config: { module_paths: [directoryLike], modules: { 'fake-directory': {}, message: {} } } });
  await s.createUser('svc');
  const c = await RawClient.secured(s.ports.c2s);
  t.after(() => c.destroy());
  await c.authenticatePlain('svc', 'svc-secret');
  assert.equal(await c.bind('bot'), 'svc@localhost/bot');
});

test('an unreachable provider answers temporary-auth-failure, not not-authorized', async (t) => {
  const s = await startServer(t, { config: { module_paths: [directoryLike], modules: { 'fake-directory': {}, message: {} } } });
  const c = await RawClient.secured(s.ports.c2s);
  t.after(() => c.destroy());
  c.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from('\0flaky\0x').toString('base64')}</auth>`);
  await c.waitFor(/<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><temporary-auth-failure\/>/);
});

test("a wrong password for a provider's user is not-authorized", async (t) => {
  const s = await startServer(t, { config: { module_paths: [directoryLike], modules: { 'fake-directory': {}, message: {} } } });
  const c = await RawClient.secured(s.ports.c2s);
  t.after(() => c.destroy());
  c.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from('\0dana.m\0nope').toString('base64')}</auth>`);
  await c.waitFor(/<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><not-authorized\/>/);
});

test('a local account that is disabled gets account-disabled', async (t) => {
  const s = await startServer(t);
  const bare = await s.createUser('gone');
  const { Jid } = await import('../xml/jid.js');
  s.server.accounts.setDisabled(Jid.parse(bare), 'left the company');
  await assert.rejects(s.connect('gone'), /account-disabled/);
});
