import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCliCaptured as cli } from '../../test/kit/cli.js';
import { openldapDirectoryConfig, slapdSkip, startSlapd, type Slapd } from '../../test/kit/slapd.js';

// `parley directory sync | retired | release` run in their own process on the server's config and
// database, as an administrator (or cron) would run them.

const skip = slapdSkip;
let slapd: Slapd;
before(async () => { if (!skip) slapd = await startSlapd(); });
after(async () => { await slapd?.destroy(); });

test('parley directory sync retires a disabled person, lists them, and release frees the address', { skip }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-dircli-'));
  const file = path.join(dir, 'parley.yml');
  // YAML is a superset of JSON: the kit's directory settings go in as they are.
  fs.writeFileSync(file, JSON.stringify({
    domains: ['localhost'], data_dir: path.join(dir, 'data'), tls: { certs_dir: path.join(dir, 'certs') },
    log: { level: 'warn' },
    modules: { roster: {}, presence: {}, vcard: {}, directory: openldapDirectoryConfig(slapd) },
  }));
  const first = await cli(t, ['directory', 'sync', '--config', file]);
  assert.equal(first.code, 0, first.err);
  assert.equal((JSON.parse(first.out) as { ok: boolean }).ok, true);

  await slapd.modify('uid=frank,ou=people,dc=example,dc=com', { pwdAccountLockedTime: '000001010000Z' });
  const second = await cli(t, ['directory', 'sync', '--config', file]);
  assert.equal(second.code, 0, second.err);
  const report = JSON.parse(second.out) as { retired: { local: string }[] };
  assert.ok(report.retired.some((r) => r.local === 'frank'), second.out);

  assert.match((await cli(t, ['directory', 'retired', '--config', file])).out, /^frank\t/m);
  const released = await cli(t, ['directory', 'release', 'frank', '--config', file]);
  assert.equal(released.code, 0, released.err);
  assert.doesNotMatch((await cli(t, ['directory', 'retired', '--config', file])).out, /frank/);
  await slapd.modify('uid=frank,ou=people,dc=example,dc=com', { pwdAccountLockedTime: null });
});

test('parley directory refuses to run when the directory module is not enabled', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-dircli-'));
  const file = path.join(dir, 'parley.yml');
  fs.writeFileSync(file, `data_dir: ${JSON.stringify(path.join(dir, 'data'))}\n`);
  const r = await cli(t, ['directory', 'sync', '--config', file]);
  assert.equal(r.code, 2);
  assert.match(r.err, /directory module is not enabled/);
});
