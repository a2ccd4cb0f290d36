import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { xml, type Element } from '@xmpp/xml';
import { runCliCaptured as cli, writeCliConfig } from '../../test/kit/cli.js';
import { startServer } from '../../test/kit/server.js';
import type { AccessEntry, ArchiveRecord } from './record.js';
import type { ComplianceService } from './service.js';

/** A configuration file for the CLI and the server alike: the same data folder, the archive on. */
function setup(): { dir: string; file: string; dataDir: string; pw: (user: string) => string } {
  const { dir, file } = writeCliConfig(`modules:
  disco: {}
  message: {}
  offline: {}
  archive:
    compliance:
      readers: [officer@localhost]
`, 'parley-compliance-');
  const pw = (user: string) => {
    const f = path.join(dir, `${user}.pw`);
    fs.writeFileSync(f, `${user}-secret\n`);
    return f;
  };
  return { dir, file, dataDir: path.join(dir, 'data'), pw };
}

const isBody = (text: string) => (el: Element) => el.name === 'message' && el.getChildText('body') === text;

/** Run a server on the configuration, let alice and bob talk, stop it. */
async function traffic(t: Parameters<typeof startServer>[0], env: ReturnType<typeof setup>, bodies: string[]): Promise<void> {
  const s = await startServer(t, {
    dataDir: env.dataDir,
    modules: { disco: {}, message: {}, offline: {}, archive: { compliance: { readers: ['officer@localhost'] } } },
  });
  for (const u of ['alice', 'bob', 'officer']) await s.createUser(u);
  const alice = await s.connect('alice');
  const bob = await s.connect('bob');
  for (const body of bodies) {
    await alice.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, body)));
    await bob.next(isBody(body));
  }
  await s.stop();
}

function accessLog(dataDir: string): AccessEntry[] {
  const db = new Database(path.join(dataDir, 'archive', 'archive.db'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM access_log ORDER BY seq').all() as AccessEntry[];
  } finally {
    db.close();
  }
}

test('a person outside the compliance role is refused, and the refusal is in the access log', async (t) => {
  const env = setup();
  await traffic(t, env, ['the quarterly numbers']);
  const refused = await cli(t, ['archive', 'search', '--config', env.file, '--as', 'bob@localhost', '--password-file', env.pw('bob'), '--keywords', 'quarterly']);
  assert.equal(refused.code, 3);
  assert.match(refused.err, /bob@localhost is not in the compliance role/);
  assert.doesNotMatch(refused.out, /quarterly/);

  const wrongPassword = await cli(t, ['archive', 'search', '--config', env.file, '--as', 'officer@localhost', '--password-file', env.pw('bob')]);
  assert.equal(wrongPassword.code, 2);
  assert.match(wrongPassword.err, /authentication failed/);

  const allowed = await cli(t, ['archive', 'search', '--config', env.file, '--as', 'officer@localhost', '--password-file', env.pw('officer'), '--keywords', 'quarterly']);
  assert.equal(allowed.code, 0, allowed.err);
  const found = allowed.out.split('\n').map((l) => JSON.parse(l) as ArchiveRecord);
  assert.deepEqual(found.map((r) => r.body), ['the quarterly numbers']);

  const log = accessLog(env.dataDir);
  assert.deepEqual(log.map((e) => [e.actor, e.action, e.result]), [
    ['bob@localhost', 'search', 'refused'],
    ['officer@localhost', 'search', 'allowed'],
  ]);
  assert.equal(JSON.parse(log[0]!.params).keywords, 'quarterly');
  assert.equal(JSON.parse(log[1]!.detail).records, 1);
  assert.equal(log[1]!.prev_hash, log[0]!.hash, 'the access log is chained');
});

test('parley archive export writes JSON Lines, e-mail files and a manifest whose hashes match', async (t) => {
  const env = setup();
  await traffic(t, env, ['first of the day', 'second of the day']);
  const out = path.join(env.dir, 'export');
  const r = await cli(t, ['archive', 'export', '--config', env.file, '--as', 'officer@localhost', '--password-file', env.pw('officer'), '--with', 'alice@localhost', '--out', out]);
  assert.equal(r.code, 0, r.err);
  const lines = fs.readFileSync(path.join(out, 'records.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { body: string });
  assert.deepEqual(lines.map((l) => l.body), ['first of the day', 'second of the day']);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { files: { path: string; sha256: string }[] };
  assert.ok(manifest.files.length >= 2);
  for (const f of manifest.files) {
    assert.equal(createHash('sha256').update(fs.readFileSync(path.join(out, f.path))).digest('hex'), f.sha256, f.path);
  }
  const emls = manifest.files.filter((f) => f.path.endsWith('.eml'));
  assert.equal(emls.length, 1, 'one conversation on one day');
  const eml = fs.readFileSync(path.join(out, emls[0]!.path), 'utf8');
  assert.match(eml, /^From: .*alice@localhost/m);
  assert.match(eml, /first of the day/);
  assert.match(eml, /second of the day/);
  assert.deepEqual(accessLog(env.dataDir).map((e) => [e.actor, e.action, e.result]), [['officer@localhost', 'export', 'allowed']]);
});

test('a legal hold keeps a day from the purge until it is released, and both are logged', async (t) => {
  const env = setup();
  await traffic(t, env, ['kept under hold', 'not held']);
  const placed = await cli(t, ['archive', 'hold', 'place', '--config', env.file, '--as', 'officer@localhost', '--password-file', env.pw('officer'),
    '--name', 'SEC inquiry 2026-17', '--jid', 'alice@localhost', '--reason', 'subpoena']);
  assert.equal(placed.code, 0, placed.err);
  const id = /hold (\S+) placed/.exec(placed.out)![1]!;

  // Purging as if ten years had passed: retention (7 years by default) has expired for all.
  const s = await startServer(t, { dataDir: env.dataDir, modules: { disco: {}, message: {}, archive: { compliance: { readers: ['officer@localhost'] } } } });
  const compliance = s.server.host.service('compliance') as ComplianceService;
  const inTenYears = new Date(Date.now() + 10 * 365 * 86_400_000).toISOString().slice(0, 10);
  const held = await compliance.purge('os:test', { today: inTenYears });
  assert.equal(held.count, 0, 'alice is on hold, and both messages are hers');
  assert.equal(held.held.length, 1);

  compliance.releaseHold('officer@localhost', id);
  const purged = await compliance.purge('os:test', { today: inTenYears });
  assert.equal(purged.count, 2);
  const report = compliance.verify('os:test');
  assert.deepEqual(report.problems, [], 'the chain still verifies across the purged records');
  await s.stop();

  assert.deepEqual(accessLog(env.dataDir).map((e) => [e.actor, e.action, e.result]), [
    ['officer@localhost', 'hold', 'allowed'],
    ['os:test', 'purge', 'allowed'],
    ['officer@localhost', 'release', 'allowed'],
    ['os:test', 'purge', 'allowed'],
    ['os:test', 'verify', 'allowed'],
  ]);
});

test('parley archive verify reports OK on an intact archive and names an edited record', async (t) => {
  const env = setup();
  await traffic(t, env, ['a', 'b', 'c']);
  const ok = await cli(t, ['archive', 'verify', '--config', env.file]);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(ok.out, /^OK: 3 records/m);
  const db = new Database(path.join(env.dataDir, 'archive', 'archive.db'));
  db.prepare("UPDATE records SET body = 'changed' WHERE seq = 2").run();
  db.close();
  const bad = await cli(t, ['archive', 'verify', '--config', env.file]);
  assert.equal(bad.code, 1);
  assert.match(bad.out, /altered at record 2: record 2 .* was altered/);
});
