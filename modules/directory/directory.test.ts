import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { xml } from '@xmpp/xml';
import { generateSelfSigned } from '../../server/tls/certificates.js';
import { RawClient } from '../../test/kit/raw.js';
import { startServer } from '../../test/kit/server.js';
import {
  DIRECTORY_TEST_NS, directoryHelperModules, openldapDirectoryConfig, slapdSkip, startSlapd, type Slapd,
} from '../../test/kit/slapd.js';

// Logins against a real slapd (test/kit/slapd.ts) with the OpenLDAP layout of the fixture
// (test/fixtures/ldap/openldap-layout.ldif): every password is "<name>-secret".

const skip = slapdSkip;
let slapd: Slapd;
before(async () => { if (!skip) slapd = await startSlapd(); });
after(async () => { await slapd?.destroy(); });

const helpers = directoryHelperModules();

async function server(t: Parameters<typeof startServer>[0], extra: Record<string, unknown> = {}) {
  return startServer(t, {
    config: { module_paths: [helpers] },
    modules: { disco: {}, ping: {}, message: {}, offline: {}, roster: {}, presence: {}, directory: openldapDirectoryConfig(slapd, extra), 'directory-test': {} },
  });
}

/** A raw stream up to the SASL mechanisms, over STARTTLS. */
async function tlsStream(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  c.openStream();
  await c.waitFor(/<starttls/);
  await c.startTls();
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  return c;
}

function plain(c: RawClient, user: string, password: string): void {
  c.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`);
}

test('an employee logs in with the directory password and gets the directory identity', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice', { resource: 'desk' });
  assert.equal(alice.jid, 'alice@localhost/desk');
  assert.equal(s.server.sessions.byFullJid('alice@localhost/desk')?.kind, 'employee');
});

test('the directory domain offers only PLAIN, over TLS', { skip }, async (t) => {
  const s = await server(t);
  const c = await tlsStream(s.ports.c2s);
  t.after(() => c.destroy());
  const mechanisms = [...c.received.matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((m) => m[1]);
  assert.deepEqual(mechanisms, ['PLAIN']);
});

test('a wrong directory password is not-authorized', { skip }, async (t) => {
  const s = await server(t);
  const c = await tlsStream(s.ports.c2s);
  t.after(() => c.destroy());
  plain(c, 'alice', 'bob-secret');
  await c.waitFor(/<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><not-authorized\/>/);
});

test('an LDAP injection in the login name logs nobody in', { skip }, async (t) => {
  const s = await server(t);
  for (const attempt of ['*)(uid=*', '*', 'alice)(uid=*', 'a*']) {
    const c = await tlsStream(s.ports.c2s);
    t.after(() => c.destroy());
    plain(c, attempt, 'alice-secret');
    await c.waitFor(/<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><not-authorized\/>/);
  }
  assert.ok(!s.logs.some((l) => l.msg === 'authenticated'), 'nobody authenticated');
});

test('a person disabled in the directory is refused with account-disabled', { skip }, async (t) => {
  const s = await server(t);
  const c = await tlsStream(s.ports.c2s);
  t.after(() => c.destroy());
  plain(c, 'erin', 'erin-secret');
  await c.waitFor(/<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><account-disabled\/><text[^>]*>Your account is disabled in the company directory/);
});

test('a person outside the required group cannot log in', { skip }, async (t) => {
  const s = await server(t);
  const c = await tlsStream(s.ports.c2s);
  t.after(() => c.destroy());
  plain(c, 'heidi', 'heidi-secret');
  await c.waitFor(/<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><account-disabled\/><text[^>]*>Your directory account is not in the group/);
});

test('a uid with capitals becomes a lower-case address (RFC 7622)', { skip }, async (t) => {
  const s = await server(t);
  const ivan = await s.connect('Ivan.Ivanov', { password: 'ivan-secret', resource: 'laptop' });
  assert.equal(ivan.jid, 'ivan.ivanov@localhost/laptop');
});

test('a login by mail address gets the address of the uid', { skip }, async (t) => {
  const s = await server(t, { users: { filter: '(&(objectClass=inetOrgPerson)(|(uid={user})(mail={user})))' } });
  const c = await tlsStream(s.ports.c2s);
  t.after(() => c.destroy());
  await c.authenticatePlain('bob@example.com', 'bob-secret');
  assert.equal(await c.bind('phone'), 'bob@localhost/phone');
});

test('a local service account logs in beside the directory people on the same domain', { skip }, async (t) => {
  const s = await server(t);
  await s.createUser('bot');
  const bot = await s.connect('bot');
  assert.equal(bot.bare, 'bot@localhost');
});

test('messages reach directory people who are offline, and an unknown name bounces', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  await alice.send(xml('message', { to: 'dave@localhost', type: 'chat', id: 'm1' }, xml('body', {}, 'are you there?')));
  await alice.send(xml('message', { to: 'nobody@localhost', type: 'chat', id: 'm2' }, xml('body', {}, 'hello?')));
  const bounce = await alice.next((el) => el.name === 'message' && el.attrs.type === 'error');
  assert.equal(bounce.attrs.id, 'm2', 'only the message to the unknown name bounces');
  assert.ok(bounce.getChild('error')?.getChild('service-unavailable'));
  const dave = await s.connect('dave');
  const stored = await dave.next((el) => el.name === 'message' && el.attrs.id === 'm1');
  assert.equal(stored.getChildText('body'), 'are you there?');
});

test("the directory service tells other modules a person's groups, manager and reports", { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  const answer = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('person', { xmlns: DIRECTORY_TEST_NS, jid: 'alice@localhost' })));
  const info = JSON.parse(answer.getChildText('person', DIRECTORY_TEST_NS)!) as Record<string, unknown>;
  const person = info.person as Record<string, unknown>;
  assert.equal(person.name, 'Alice Andersen');
  assert.equal(person.email, 'alice@example.com');
  assert.equal(person.department, 'Sales');
  assert.equal(person.manager, 'dora@localhost');
  assert.deepEqual([...(info.groups as string[])].sort(), ['Management', 'Sales', 'staff']);
  assert.equal(info.manager, 'dora@localhost');
  assert.deepEqual(info.reports, ['bob@localhost', 'grace@localhost']);
  assert.equal(info.isEmployee, true);
  assert.equal(info.inSales, true);
  // erin is in the Sales group entry but disabled: not a member who may use the server.
  assert.deepEqual(info.salesMembers, ['alice@localhost', 'bob@localhost', 'grace@localhost']);
});

test('the service password is never written to the log', { skip }, async (t) => {
  const s = await server(t);
  await s.connect('alice');
  const all = JSON.stringify(s.logs);
  assert.ok(!all.includes(slapd.openldap.servicePassword));
  assert.ok(!all.includes('alice-secret'));
});

test('a directory certificate from a CA that is not configured is refused', { skip }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-ca-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const otherCa = path.join(dir, 'other.pem');
  fs.writeFileSync(otherCa, generateSelfSigned({ domains: ['localhost'] }).certPem);
  const s = await server(t, { tls: { ca_file: otherCa } });
  const c = await tlsStream(s.ports.c2s);
  t.after(() => c.destroy());
  plain(c, 'alice', 'alice-secret');
  await c.waitFor(/<temporary-auth-failure\/>/);
  const outage = s.logs.find((l) => String(l.msg).startsWith('the directory is unreachable'));
  assert.match(String(outage?.reason), /self[- ]signed|certificate/i);
});

test('a directory certificate for another name is refused', { skip }, async (t) => {
  const s = await server(t, { tls: { server_name: 'ldap.example.com' } });
  const c = await tlsStream(s.ports.c2s);
  t.after(() => c.destroy());
  plain(c, 'alice', 'alice-secret');
  await c.waitFor(/<temporary-auth-failure\/>/);
  const outage = s.logs.find((l) => String(l.msg).startsWith('the directory is unreachable'));
  assert.match(String(outage?.reason), /ldap\.example\.com/);
});

test('a wrong service account password is logged as such and logins wait for the fix', { skip }, async (t) => {
  const s = await server(t, { bind_password: 'not-the-password' });
  const c = await tlsStream(s.ports.c2s);
  t.after(() => c.destroy());
  plain(c, 'alice', 'alice-secret');
  await c.waitFor(/<temporary-auth-failure\/>/);
  const outage = s.logs.find((l) => String(l.msg).startsWith('the directory is unreachable'));
  assert.match(String(outage?.reason), /refused the service account cn=parley,ou=services,dc=example,dc=com \(wrong bind_dn or password\)/);
  assert.ok(!JSON.stringify(s.logs).includes('not-the-password'));
});

test('a local account keeps its address when a directory person has the same localpart', { skip }, async (t) => {
  const before = await startServer(t, { modules: { disco: {}, message: {} } });
  await before.createUser('carol', 'local-carol-password');
  const dataDir = before.dataDir;
  await before.stop();
  const s = await startServer(t, { dataDir, modules: { disco: {}, message: {}, directory: openldapDirectoryConfig(slapd) } });
  assert.ok(s.logs.some((l) => l.address === 'carol@localhost' && String(l.msg).includes('the directory person is ignored')));
  const local = await s.connect('carol', { password: 'local-carol-password' });
  assert.equal(local.bare, 'carol@localhost');
  const c = await tlsStream(s.ports.c2s);
  t.after(() => c.destroy());
  plain(c, 'carol', 'carol-secret');
  await c.waitFor(/<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><not-authorized\/>/);
});
