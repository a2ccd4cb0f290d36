import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { xml } from '@xmpp/xml';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { startServer } from '../kit/server.js';

// Debian's python3-slixmpp installs for the system interpreter, not for other Pythons on PATH.
const PYTHON = '/usr/bin/python3';
const hasSlixmpp = spawnSync(PYTHON, ['-c', 'import slixmpp'], { stdio: 'ignore' }).status === 0;
// In CI a missing real part is a failure, not a skip (.ci/run sets PARLEY_REQUIRE_REAL_PARTS).
const skip = !hasSlixmpp && !process.env.PARLEY_REQUIRE_REAL_PARTS ? 'python3-slixmpp is not installed (apt-get install python3-slixmpp)' : false;

/**
 * Start one of the slixmpp scripts beside this file; `exited` resolves with its exit code and
 * everything it printed. The process is killed if the test ends first.
 */
function runSlixmpp(t: { after(fn: () => void): void }, script: string, args: string[]) {
  const child = spawn(PYTHON, [path.join(PACKAGE_ROOT, 'test', 'e2e', script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
  return { exited };
}

test('slixmpp logs in over STARTTLS and exchanges messages with an @xmpp/client user', { skip }, async (t) => {
  assert.ok(hasSlixmpp, 'python3-slixmpp must be installed: apt-get install python3-slixmpp');
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('sly');
  const alice = await s.connect('alice');
  const sly = runSlixmpp(t, 'slixmpp_echo.py', ['sly@localhost/interop', 'sly-secret', String(s.ports.c2s), alice.jid, 'hello from slixmpp']);
  const fromSly = await alice.next((el) => el.name === 'message' && el.getChildText('body') === 'hello from slixmpp', 20000);
  assert.equal(fromSly.attrs.from, 'sly@localhost/interop');
  await alice.send(xml('message', { to: 'sly@localhost/interop', type: 'chat' }, xml('body', {}, 'hello from xmpp.js')));
  const { code, out, err } = await sly.exited;
  assert.equal(code, 0, `slixmpp exited ${code}: ${out}\n${err}`);
  assert.match(out, /GOT alice@localhost\/\S+ hello from xmpp\.js/);
  // slixmpp prefers the strongest mechanism offered: SCRAM with channel binding.
  assert.match(out, /MECH SCRAM-SHA-(256|1)(-PLUS)?/);
});

test('slixmpp pages through its message archive (XEP-0313 with RSM) and gets every message once, in order', { skip }, async (t) => {
  assert.ok(hasSlixmpp, 'python3-slixmpp must be installed: apt-get install python3-slixmpp');
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('sly');
  const alice = await s.connect('alice');
  const sent: string[] = [];
  for (let i = 0; i < 12; i++) {
    const body = `archived ${i}`;
    await alice.send(xml('message', { to: 'sly@localhost', type: 'chat' }, xml('body', {}, body)));
    sent.push(body);
  }
  // One round trip on alice's stream: the server handles her stanzas in order, so every message
  // before this query has been archived when its answer comes.
  const mam = await alice.iq(xml('iq', { type: 'set', id: 'q1' }, xml('query', { xmlns: 'urn:xmpp:mam:2' })));
  assert.equal(mam.attrs.type, 'result');
  const { code, out, err } = await runSlixmpp(t, 'slixmpp_mam.py', ['sly@localhost/reader', 'sly-secret', String(s.ports.c2s), '5']).exited;
  assert.equal(code, 0, `slixmpp exited ${code}: ${out}\n${err}`);
  const got = out.split('\n').filter((l) => l.startsWith('MSG ')).map((l) => l.split(' '));
  assert.deepEqual(got.map((f) => f.slice(3).join(' ')), sent);
  assert.ok(got.every((f) => f[2] === 'alice@localhost'));
  assert.equal(new Set(got.map((f) => f[1])).size, 12, 'twelve distinct archive ids');
  assert.match(out, /^DONE 12$/m);
});
