import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import type { TestClient } from '../../test/kit/client.js';
import { RawClient } from '../../test/kit/raw.js';
import { startServer } from '../../test/kit/server.js';
import {
  DIRECTORY_TEST_NS, directoryHelperModules, openldapDirectoryConfig, slapdSkip, startSlapd, type Slapd,
} from '../../test/kit/slapd.js';

// Deprovisioning: people who are gone from the directory, disabled, or out of the required group
// lose their sessions at the next sync, cannot log in, vanish from shared rosters, and their
// address is not handed to anyone else until an administrator releases it.

const skip = slapdSkip;
let slapd: Slapd;
before(async () => { if (!skip) slapd = await startSlapd(); });
after(async () => { await slapd?.destroy(); });

const helpers = directoryHelperModules();
const ROSTER = 'jabber:iq:roster';
const LOCKED = '000001010000Z';
const dnOf = (uid: string) => `uid=${uid},ou=people,dc=example,dc=com`;
const NOT_AUTHORIZED_STREAM_ERROR = /<stream:error><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/;

async function server(t: Parameters<typeof startServer>[0], extra: Record<string, unknown> = {}, dataDir?: string) {
  return startServer(t, {
    ...(dataDir ? { dataDir } : {}),
    config: { module_paths: [helpers] },
    modules: { disco: {}, message: {}, roster: {}, presence: {}, directory: openldapDirectoryConfig(slapd, extra), 'directory-test': {} },
  });
}

interface Report { ok: boolean; retired: { local: string; reason: string }[]; reactivated: string[]; refused: string[]; error?: string }

async function syncNow(c: TestClient): Promise<Report> {
  const r = await c.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('sync', { xmlns: DIRECTORY_TEST_NS })));
  assert.equal(r.attrs.type, 'result', String(r));
  return JSON.parse(r.getChildText('sync', DIRECTORY_TEST_NS)!) as Report;
}

/** Frank's entry as in the fixture (a re-added entry gets a new entryUUID: for the directory it is a new person). */
async function addFrank(cn = 'Frank Fischer', password = 'frank-secret'): Promise<void> {
  await slapd.add(dnOf('frank'), {
    objectClass: 'inetOrgPerson', uid: 'frank', cn, sn: cn.split(' ')[1]!, givenName: 'Frank', displayName: cn,
    mail: 'frank@example.com', ou: 'Engineering', title: 'Software Engineer', userPassword: password,
  });
}

/** Log in over a raw stream and expect a SASL failure matching `condition`. */
async function refusedLogin(port: number, user: string, password: string, condition: RegExp): Promise<void> {
  const c = await RawClient.connect(port);
  try {
    c.openStream();
    await c.waitFor(/<starttls/);
    await c.startTls();
    c.openStream();
    await c.waitFor(/<\/stream:features>/);
    c.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`);
    await c.waitFor(condition);
  } finally {
    c.destroy();
  }
}

const isPush = (jid: string, subscription: string) => (el: Element) =>
  el.name === 'iq' && el.attrs.type === 'set' && el.getChild('query', ROSTER)?.getChild('item')?.attrs.jid === jid
  && el.getChild('query', ROSTER)?.getChild('item')?.attrs.subscription === subscription;

test('a person removed from the directory while online loses the session at the next periodic sync', { skip }, async (t) => {
  const s = await server(t, { sync_interval: '300ms' });
  const frank = await RawClient.login(s.ports.c2s, 'frank', 'frank-secret', 'desk');
  t.after(() => frank.destroy());
  await slapd.remove(dnOf('frank'));
  t.after(() => addFrank());
  await frank.waitFor(NOT_AUTHORIZED_STREAM_ERROR, 10_000);
  await frank.waitClosed();
  assert.ok(s.logs.some((l) => l.msg === 'directory person deprovisioned' && l.address === 'frank' && l.reason === 'the directory entry is gone'));
  // Gone from the directory: nobody knows the name any more.
  await refusedLogin(s.ports.c2s, 'frank', 'frank-secret', /<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><not-authorized\/>/);
});

test('a person disabled in the directory while online is disconnected and refused at the next login', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  const dave = await RawClient.login(s.ports.c2s, 'dave', 'dave-secret', 'laptop');
  t.after(() => dave.destroy());
  await slapd.modify(dnOf('dave'), { pwdAccountLockedTime: LOCKED });
  t.after(() => slapd.modify(dnOf('dave'), { pwdAccountLockedTime: null }));
  const report = await syncNow(alice);
  assert.deepEqual(report.retired, [{ local: 'dave', reason: 'disabled in the directory' }]);
  await dave.waitFor(NOT_AUTHORIZED_STREAM_ERROR);
  await dave.waitClosed();
  await refusedLogin(s.ports.c2s, 'dave', 'dave-secret', /<account-disabled\/><text[^>]*>Your account is disabled in the company directory/);
});

test("a deprovisioned person vanishes from colleagues' rosters with unavailable presence", { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  await alice.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
  const bob = await s.connect('bob', { resource: 'phone' });
  await alice.next((el) => el.name === 'presence' && el.attrs.from === bob.jid);
  await slapd.modify(dnOf('bob'), { pwdAccountLockedTime: LOCKED });
  t.after(() => slapd.modify(dnOf('bob'), { pwdAccountLockedTime: null }));
  await syncNow(alice);
  await alice.next(isPush('bob@localhost', 'remove'));
  await alice.next((el) => el.name === 'presence' && el.attrs.from === bob.jid && el.attrs.type === 'unavailable');
  const items = (await alice.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })))).getChild('query', ROSTER)!.getChildren('item');
  assert.deepEqual(items.map((i) => i.attrs.jid), ['grace@localhost']);
  // Messages to the address bounce now: it is nobody's.
  await alice.send(xml('message', { to: 'bob@localhost', type: 'chat', id: 'late' }, xml('body', {}, 'still there?')));
  const bounce = await alice.next((el) => el.name === 'message' && el.attrs.id === 'late');
  assert.equal(bounce.attrs.type, 'error');
});

test('a new directory entry with a retired address is refused until an administrator releases it', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  await slapd.remove(dnOf('frank'));
  let frankIsOriginal = false;
  t.after(async () => {
    if (frankIsOriginal) return;
    await slapd.remove(dnOf('frank')).catch(() => undefined);
    await addFrank();
  });
  assert.deepEqual((await syncNow(alice)).retired, [{ local: 'frank', reason: 'the directory entry is gone' }]);

  // Another Frank joins and gets uid=frank: a new entry, a new entryUUID.
  await addFrank('Frank Foster', 'foster-secret');
  assert.deepEqual((await syncNow(alice)).refused, ['frank']);
  assert.ok(s.logs.some((l) => l.level === 40 && l.address === 'frank' && String(l.msg).includes('refused until an administrator releases it')));
  await refusedLogin(s.ports.c2s, 'frank', 'foster-secret', /<account-disabled\/><text[^>]*>This address belongs to a former employee/);

  const released = await alice.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('release', { xmlns: DIRECTORY_TEST_NS, address: 'frank@localhost' })));
  assert.equal(released.getChildText('release', DIRECTORY_TEST_NS), 'true');
  await syncNow(alice);
  const foster = await s.connect('frank', { password: 'foster-secret' });
  assert.equal(foster.bare, 'frank@localhost');
  await foster.stop();
  await slapd.remove(dnOf('frank'));
  await addFrank();
  frankIsOriginal = true;
});

test('a re-enabled person gets the same address back', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  await slapd.modify(dnOf('carol'), { pwdAccountLockedTime: LOCKED });
  t.after(() => slapd.modify(dnOf('carol'), { pwdAccountLockedTime: null }).catch(() => undefined));
  assert.deepEqual((await syncNow(alice)).retired.map((r) => r.local), ['carol']);
  await slapd.modify(dnOf('carol'), { pwdAccountLockedTime: null });
  assert.deepEqual((await syncNow(alice)).reactivated, ['carol']);
  const carol = await s.connect('carol');
  assert.equal(carol.bare, 'carol@localhost');
});

test('a sync that would deprovision more people than the safety limit deprovisions nobody', { skip }, async (t) => {
  const first = await server(t);
  const dataDir = first.dataDir;
  await first.stop();
  // A filter mistake: only Sales is listed now, so everyone else looks gone.
  const s = await server(t, { users: { list_filter: '(&(objectClass=inetOrgPerson)(ou=Sales))' }, deprovision: { max_per_sync: 2 } }, dataDir);
  assert.ok(s.logs.some((l) => l.level === 50 && String(l.msg).includes('more than deprovision.max_per_sync (2); nobody was')));
  const carol = await s.connect('carol');
  assert.equal(carol.bare, 'carol@localhost');
  const report = await syncNow(carol);
  assert.deepEqual(report.retired, []);
  assert.match(report.error ?? '', /would be deprovisioned/);
});

test("an address retired by another process's sync ends the person's sessions at this server's next sync", { skip }, async (t) => {
  // The way `parley directory sync` run beside a server works: both share the database.
  const s = await server(t);
  const frank = await RawClient.login(s.ports.c2s, 'frank', 'frank-secret', 'desk');
  t.after(() => frank.destroy());
  const other = await server(t, {}, s.dataDir);
  await slapd.remove(dnOf('frank'));
  t.after(() => addFrank());
  const alice = await other.connect('alice');
  assert.deepEqual((await syncNow(alice)).retired.map((r) => r.local), ['frank']);
  const bob = await s.connect('bob');
  assert.deepEqual((await syncNow(bob)).retired, [], 'already retired by the other process');
  await frank.waitFor(NOT_AUTHORIZED_STREAM_ERROR);
  await frank.waitClosed();
});
