import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/xml';
import { RawClient } from '../../test/kit/raw.js';
import { startServer } from '../../test/kit/server.js';
import { openldapDirectoryConfig, slapdSkip, startSlapd, type Slapd } from '../../test/kit/slapd.js';

// The directory goes away in the middle of a test and comes back: clients get
// temporary-auth-failure meanwhile, the outage is logged once, and logins work again afterwards
// without a restart of Parley.

const skip = slapdSkip;
let slapd: Slapd;
before(async () => { if (!skip) slapd = await startSlapd(); });
after(async () => { await slapd?.destroy(); });

async function server(t: Parameters<typeof startServer>[0]) {
  return startServer(t, { modules: { disco: {}, message: {}, directory: openldapDirectoryConfig(slapd) } });
}

/** One PLAIN attempt on a fresh stream; resolves with the SASL answer (success or the failure condition). */
async function attempt(port: number, user: string, password: string): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    c.openStream();
    await c.waitFor(/<starttls/);
    await c.startTls();
    c.openStream();
    await c.waitFor(/<\/stream:features>/);
    c.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`);
    const m = await c.waitFor(/<success[^>]*\/?>|<failure[^>]*><([a-z-]+)\/>/, 10_000);
    return m[1] ?? 'success';
  } finally {
    c.destroy();
  }
}

const unreachableLines = (logs: Record<string, unknown>[]) => logs.filter((l) => String(l.msg).startsWith('the directory is unreachable'));
const backLines = (logs: Record<string, unknown>[]) => logs.filter((l) => l.msg === 'the directory is reachable again');

test('while the directory is down logins get temporary-auth-failure, and they work again when it is back', { skip }, async (t) => {
  const s = await server(t);
  assert.equal(await attempt(s.ports.c2s, 'alice', 'alice-secret'), 'success');

  await slapd.stop();
  t.after(() => slapd.start());
  assert.equal(await attempt(s.ports.c2s, 'alice', 'alice-secret'), 'temporary-auth-failure');
  assert.equal(await attempt(s.ports.c2s, 'bob', 'bob-secret'), 'temporary-auth-failure');
  assert.equal(await attempt(s.ports.c2s, 'alice', 'wrong'), 'temporary-auth-failure');
  // One log line for the outage, not one per login.
  assert.equal(unreachableLines(s.logs).length, 1);
  assert.equal(unreachableLines(s.logs)[0]!.level, 50);

  await slapd.start();
  assert.equal(await attempt(s.ports.c2s, 'alice', 'alice-secret'), 'success');
  assert.equal(await attempt(s.ports.c2s, 'bob', 'wrong'), 'not-authorized');
  assert.equal(backLines(s.logs).length, 1);
  assert.equal(unreachableLines(s.logs).length, 1);
});

test('a local service account still logs in while the directory is down', { skip }, async (t) => {
  const s = await server(t);
  await s.createUser('monitor');
  await slapd.stop();
  t.after(() => slapd.start());
  assert.equal(await attempt(s.ports.c2s, 'monitor', 'monitor-secret'), 'success');
  assert.equal(await attempt(s.ports.c2s, 'alice', 'alice-secret'), 'temporary-auth-failure');
});

test('a server started while the directory is down serves the addresses it knew and recovers by itself', { skip }, async (t) => {
  const first = await server(t);
  const dataDir = first.dataDir;
  await first.stop();
  await slapd.stop();
  t.after(() => slapd.start());
  const s = await startServer(t, { dataDir, modules: { disco: {}, message: {}, offline: {}, directory: openldapDirectoryConfig(slapd) } });
  assert.equal(unreachableLines(s.logs).length, 1, 'the failed first sync is logged once');
  // The addresses known from the last run still exist (messages to them are kept, not bounced).
  await s.createUser('monitor');
  const monitor = await s.connect('monitor');
  await monitor.send(xml('message', { to: 'alice@localhost', type: 'chat', id: 'x1' }, xml('body', {}, 'ping')));
  await monitor.send(xml('message', { to: 'nobody@localhost', type: 'chat', id: 'x2' }, xml('body', {}, 'ping')));
  const bounce = await monitor.next((el) => el.name === 'message' && el.attrs.type === 'error');
  assert.equal(bounce.attrs.id, 'x2');
  await slapd.start();
  assert.equal(await attempt(s.ports.c2s, 'alice', 'alice-secret'), 'success');
  assert.equal(backLines(s.logs).length, 1);
});
