import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT, startNodeFlags } from '../paths.js';
import { RawClient } from '../../test/kit/raw.js';
import { startServer } from '../../test/kit/server.js';
import { runCliCaptured as cli, writeCliConfig as tempConfig } from '../../test/kit/cli.js';

test('parley user add creates an account whose password works, and user list shows it', async (t) => {
  const { dir, file } = tempConfig();
  const pw = path.join(dir, 'pw');
  fs.writeFileSync(pw, 'from the cli\n');
  const added = await cli(t, ['user', 'add', 'carol@localhost', '--config', file, '--password-file', pw]);
  assert.equal(added.code, 0, added.err);
  const listed = await cli(t, ['user', 'list', '--config', file]);
  assert.match(listed.out, /carol@localhost/);
  const s = await startServer(t, { dataDir: path.join(dir, 'data') });
  const carol = await s.connect('carol', { password: 'from the cli' });
  assert.match(carol.jid, /^carol@localhost\//);
});

test('the database holds SCRAM credentials only, never the password', async (t) => {
  const { dir, file } = tempConfig();
  const pw = path.join(dir, 'pw');
  fs.writeFileSync(pw, 'plain-text-must-not-appear\n');
  assert.equal((await cli(t, ['user', 'add', 'dave', '--config', file, '--password-file', pw])).code, 0);
  const dbFiles = fs.readdirSync(path.join(dir, 'data')).map((f) => fs.readFileSync(path.join(dir, 'data', f)));
  for (const content of dbFiles) assert.equal(content.includes(Buffer.from('plain-text-must-not-appear')), false);
});

test('parley user passwd changes the password and user delete removes the account', async (t) => {
  const { dir, file } = tempConfig();
  const pw = path.join(dir, 'pw');
  fs.writeFileSync(pw, 'first\n');
  await cli(t, ['user', 'add', 'erin@localhost', '--config', file, '--password-file', pw]);
  fs.writeFileSync(pw, 'second\n');
  assert.equal((await cli(t, ['user', 'passwd', 'erin@localhost', '--config', file, '--password-file', pw])).code, 0);
  const s = await startServer(t, { dataDir: path.join(dir, 'data') });
  await assert.rejects(s.connect('erin', { password: 'first' }), /not-authorized/);
  await s.connect('erin', { password: 'second' });
  await s.stop();
  assert.equal((await cli(t, ['user', 'delete', 'erin@localhost', '--config', file])).code, 0);
  assert.doesNotMatch((await cli(t, ['user', 'list', '--config', file])).out, /erin/);
});

test('adding an account on a domain the server does not host is refused', async (t) => {
  const { file } = tempConfig();
  const r = await cli(t, ['user', 'add', 'x@example.org', '--config', file, '--password-file', file]);
  assert.equal(r.code, 1);
  assert.match(r.err, /example\.org is not one of this server's domains/);
});

test('parley config check accepts a valid file and names the key of a typo', async (t) => {
  const good = tempConfig();
  const ok = await cli(t, ['config', 'check', '--config', good.file]);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /configuration is valid/);
  const bad = tempConfig('limits:\n  max_stanza_byts: 10\n');
  const r = await cli(t, ['config', 'check', '--config', bad.file]);
  assert.equal(r.code, 78);
  assert.match(r.err, /limits\.max_stanza_byts: unknown option\. Did you mean "max_stanza_bytes"\?/);
});

test("parley config check validates each module's own section", async (t) => {
  const bad = tempConfig('modules:\n  ping:\n    keepalive_intervl: 5m\n');
  const r = await cli(t, ['config', 'check', '--config', bad.file]);
  assert.equal(r.code, 78);
  assert.match(r.err, /modules\.ping\.keepalive_intervl: unknown option\. Did you mean "keepalive_interval"\?/);
});

test('a configured certificate file that does not exist stops the server with its path', async (t) => {
  const { file } = tempConfig();
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('  certs_dir: ./certs\n',
    '  certs_dir: ./certs\n  certificates:\n    - { domain: localhost, cert: ./nope.crt, key: ./nope.key }\n'));
  const r = await cli(t, ['config', 'check', '--config', file]);
  assert.equal(r.code, 78);
  assert.match(r.err, /tls\.certificates\[0\]\.cert: file not found/);
});

test('parley cert generate writes a self-signed certificate and cert csr a request with its own key', async (t) => {
  const { dir, file } = tempConfig();
  const out = path.join(dir, 'out');
  assert.equal((await cli(t, ['cert', 'generate', 'chat.example.com', '--config', file, '--out', out])).code, 0);
  const cert = new (await import('node:crypto')).X509Certificate(fs.readFileSync(path.join(out, 'chat.example.com.crt')));
  assert.match(cert.subjectAltName ?? '', /DNS:chat\.example\.com/);
  assert.equal((await cli(t, ['cert', 'csr', 'chat.example.com', '--config', file, '--out', out])).code, 0);
  assert.match(fs.readFileSync(path.join(out, 'chat.example.com.csr'), 'utf8'), /BEGIN CERTIFICATE REQUEST/);
  assert.ok(fs.existsSync(path.join(out, 'chat.example.com.csr.key')));
  // The running certificate's key was not replaced.
  assert.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(fs.readFileSync(path.join(out, 'chat.example.com.key')))));
});

test('parley start on defaults prints where it listens, and SIGTERM closes streams and exits 0', async (t) => {
  const { dir, file } = tempConfig();
  const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'parley.js'), 'start', '--config', file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up banner: ${stderr}`)), 20000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /c2s with STARTTLS\s+\S+ port (\d+)/.exec(stderr);
      if (m && /Add a user with/.test(stderr)) { clearTimeout(timer); resolve(Number(m[1])); }
    });
  });
  assert.ok(fs.existsSync(path.join(dir, 'certs', 'localhost.crt')), 'a certificate was generated');
  assert.ok(fs.existsSync(path.join(dir, 'data', 'parley.db')), 'the database was created');
  const c = await RawClient.connect(port);
  c.openStream();
  await c.waitFor(/<starttls/);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  await c.waitFor(/<\/stream:stream>/);
  assert.equal(await exited, 0);
});

test('npm start, the parley command and the Docker image start Node.js with the same options', () => {
  const flags = startNodeFlags();
  assert.ok(flags.includes('--max-semi-space-size=32'), `npm start: ${flags.join(' ')}`);
  const shebang = fs.readFileSync(path.join(PACKAGE_ROOT, 'bin', 'parley.js'), 'utf8').split('\n')[0];
  assert.equal(shebang, `#!/usr/bin/env -S node ${flags.join(' ')}`);
  const cmd = /^CMD (\[.*\])$/m.exec(fs.readFileSync(path.join(PACKAGE_ROOT, 'Dockerfile'), 'utf8'));
  assert.ok(cmd, 'the Dockerfile has a CMD');
  assert.deepEqual((JSON.parse(cmd[1]!) as string[]).slice(0, flags.length + 2), ['node', ...flags, 'bin/parley.js']);
});
