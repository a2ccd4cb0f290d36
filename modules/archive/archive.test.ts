import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { xml, type Element } from '@xmpp/xml';
import { startServer, type TestServer } from '../../test/kit/server.js';
import type { TestClient } from '../../test/kit/client.js';
import { writeModule } from '../../test/kit/modules.js';
import { ArchiveStore } from './store.js';
import { loadPublicKey } from './signing.js';
import { verifyArchive } from './verify.js';
import { recordHash, type ArchiveRecord } from './record.js';

/**
 * A stand-in for a group chat service on rooms.localhost, for these tests only: occupants join
 * with presence, and a groupchat message is reflected to every occupant as a server-made copy
 * (not audited again), as DESIGN.md asks of room reflections.
 */
const ROOMS = writeModule('test-rooms', `
import { defineModule, handled, xml } from 'API';
export default defineModule({
  name: 'test-rooms',
  setup(ctx) {
    const occupants = new Map();
    ctx.hooks.on('route/remote', (event) => {
      if (event.to.domain !== 'rooms.localhost') return;
      const room = event.to.bare;
      if (!occupants.has(room)) occupants.set(room, new Map());
      const inRoom = occupants.get(room);
      if (event.kind === 'presence') { inRoom.set(event.from.full, event.to.resource); return handled(); }
      if (event.kind === 'message' && event.type === 'groupchat') {
        const nick = inRoom.get(event.from.full);
        for (const full of inRoom.keys()) {
          const session = ctx.sessions.byFullJid(full);
          if (!session) continue;
          const copy = xml('message', { type: 'groupchat', from: room + '/' + nick, to: full, id: event.stanza.attrs.id },
            ...event.stanza.children.filter((c) => typeof c !== 'string' && c.name === 'body').map((c) => xml('body', {}, c.getText())));
          ctx.router.deliver(session, copy);
        }
        return handled();
      }
    });
  },
});
`);

const MODULES = { disco: {}, ping: {}, message: {}, offline: {}, 'test-rooms': {} };

async function archiveServer(t: Parameters<typeof startServer>[0], archive: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<TestServer> {
  return startServer(t, {
    modules: { ...MODULES, archive },
    config: { module_paths: [ROOMS], ...extra },
    logLevel: 'info',
  });
}

function archiveDbFile(s: TestServer): string {
  return path.join(s.dataDir, 'archive', 'archive.db');
}

function readRecords(file: string): ArchiveRecord[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT * FROM records WHERE kind = 'message' ORDER BY seq").all() as ArchiveRecord[];
  } finally {
    db.close();
  }
}

function chat(to: string, body: string, type = 'chat'): Element {
  return xml('message', { to, type, id: `m-${body}` }, xml('body', {}, body));
}

const isBody = (text: string) => (el: Element) => el.name === 'message' && el.getChildText('body') === text;
const isError = (el: Element) => el.name === 'message' && el.attrs.type === 'error';

async function users(s: TestServer, ...names: string[]): Promise<TestClient[]> {
  for (const n of names) await s.createUser(n);
  const out: TestClient[] = [];
  for (const n of names) out.push(await s.connect(n));
  return out;
}

test('every 1:1 and group chat message is in the archive exactly once, in a chain that verifies', async (t) => {
  const s = await archiveServer(t);
  const [alice, bob, carol] = await users(s, 'alice', 'bob', 'carol');
  const sent: string[] = [];
  for (let i = 0; i < 20; i++) {
    const [from, to, toName] = i % 2 === 0 ? [alice!, bob!, 'bob'] : [bob!, alice!, 'alice'];
    const body = `one-to-one ${i}`;
    await from.send(chat(`${toName}@localhost`, body));
    await to.next(isBody(body));
    sent.push(body);
  }
  // Group chat: three occupants, each message reflected to all of them and archived once.
  for (const [c, nick] of [[alice!, 'a'], [bob!, 'b'], [carol!, 'c']] as const) await c.send(xml('presence', { to: `deals@rooms.localhost/${nick}` }));
  for (let i = 0; i < 6; i++) {
    const body = `group ${i}`;
    const sender = [alice!, bob!, carol!][i % 3]!;
    await sender.send(chat('deals@rooms.localhost', body, 'groupchat'));
    for (const c of [alice!, bob!, carol!]) await c.next(isBody(body));
    sent.push(body);
  }
  // A chat state alone is not content and is not archived.
  await alice!.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
  await bob!.next((el) => el.getChild('composing') !== undefined);

  await s.stop();
  const records = readRecords(archiveDbFile(s));
  assert.deepEqual(records.map((r) => r.body).sort(), [...sent].sort(), 'each message once, nothing else');
  const group = records.filter((r) => r.type === 'groupchat');
  assert.equal(group.length, 6);
  assert.ok(group.every((r) => r.room === 'deals@rooms.localhost' && r.direction === 'internal'));
  const first = records.find((r) => r.body === 'one-to-one 0')!;
  assert.equal(first.sender_bare, 'alice@localhost');
  assert.equal(first.recipient_bare, 'bob@localhost');
  assert.equal(first.outcome, 'allowed');
  assert.match(first.stanza, /<body>one-to-one 0<\/body>/);

  const db = new Database(archiveDbFile(s), { readonly: true });
  const keys = path.join(s.dataDir, 'archive-keys');
  const report = verifyArchive(new ArchiveStore(db), loadPublicKey(path.join(keys, 'signing-key.pem')), path.join(keys, 'checkpoints.log'));
  db.close();
  assert.deepEqual(report.problems, []);
  assert.equal(report.ok, true);
  assert.equal(report.records, 26);
  assert.ok(report.checkpoints >= 1, 'a checkpoint was signed at shutdown');
});

test('the recipient gets the archive id as XEP-0359 stanza-id, and a forged one is removed', async (t) => {
  const s = await archiveServer(t);
  const [alice, bob] = await users(s, 'alice', 'bob');
  const forged = chat('bob@localhost', 'with a forged id');
  forged.append(xml('stanza-id', { xmlns: 'urn:xmpp:sid:0', id: 'forged', by: 'bob@localhost' }));
  await alice!.send(forged);
  const got = await bob!.next(isBody('with a forged id'));
  const ids = got.getChildren('stanza-id', 'urn:xmpp:sid:0');
  assert.equal(ids.length, 1);
  assert.equal(ids[0]!.attrs.by, 'bob@localhost');
  assert.notEqual(ids[0]!.attrs.id, 'forged');
  await s.stop();
  const [r] = readRecords(archiveDbFile(s));
  assert.equal(r!.id, ids[0]!.attrs.id);
  assert.doesNotMatch(r!.stanza, /id="forged"/, 'the record holds the message as it went on, without the forgery');
});

test('a message that policy blocks is archived with the decision and not delivered', async (t) => {
  const policy = writeModule('test-policy', `
import { defineModule, block, Stage, StanzaError } from 'API';
export default defineModule({
  name: 'test-policy',
  setup(ctx) {
    ctx.hooks.on('stanza/in', (e) => {
      if (e.kind === 'message' && /project x/i.test(e.stanza.getChildText('body') ?? '')) return block(new StanzaError('policy-violation', 'Project X may not be discussed'));
    }, { stage: Stage.POLICY });
  },
});
`);
  const s = await startServer(t, { modules: { ...MODULES, 'test-policy': {}, archive: {} }, config: { module_paths: [ROOMS, policy] }, logLevel: 'info' });
  const [alice, bob] = await users(s, 'alice', 'bob');
  await alice!.send(chat('bob@localhost', 'about Project X'));
  const err = await alice!.next(isError);
  assert.ok(err.getChild('error')!.getChild('policy-violation'));
  await bob!.nothing(isBody('about Project X'), 300);
  await s.stop();
  const [r] = readRecords(archiveDbFile(s));
  assert.equal(r!.body, 'about Project X');
  assert.equal(r!.outcome, 'blocked');
  assert.deepEqual(JSON.parse(r!.decision), { condition: 'policy-violation', text: 'Project X may not be discussed' });
});

/** Traffic for the tamper tests: a server run that leaves a closed archive with 12 records. */
async function archiveWithTraffic(t: Parameters<typeof startServer>[0]): Promise<{ file: string; key: string; checkpoints: string; dataDir: string }> {
  const s = await archiveServer(t);
  const [alice, bob] = await users(s, 'alice', 'bob');
  for (let i = 0; i < 12; i++) {
    await alice!.send(chat('bob@localhost', `tamper ${i}`));
    await bob!.next(isBody(`tamper ${i}`));
  }
  await s.stop();
  return {
    file: archiveDbFile(s), dataDir: s.dataDir,
    key: path.join(s.dataDir, 'archive-keys', 'signing-key.pem'),
    checkpoints: path.join(s.dataDir, 'archive-keys', 'checkpoints.log'),
  };
}

function tampered(a: { file: string; key: string; checkpoints: string }, change: (db: Database.Database) => void) {
  const copy = `${a.file}.${Math.random().toString(36).slice(2)}`;
  fs.copyFileSync(a.file, copy);
  const db = new Database(copy);
  change(db);
  const report = verifyArchive(new ArchiveStore(db), loadPublicKey(a.key), a.checkpoints);
  db.close();
  return report;
}

test('verify names a record edited, a record deleted and two records reordered directly in SQLite', async (t) => {
  const a = await archiveWithTraffic(t);
  const clean = tampered(a, () => undefined);
  assert.equal(clean.ok, true, JSON.stringify(clean.problems));

  const edited = tampered(a, (db) => db.prepare("UPDATE records SET body = 'nothing to see' WHERE seq = 5").run());
  assert.equal(edited.ok, false);
  assert.deepEqual(edited.problems.map((p) => [p.kind, p.seq]), [['altered', 5]]);
  assert.match(edited.problems[0]!.message, /record 5 .*altered/);

  const deleted = tampered(a, (db) => db.prepare('DELETE FROM records WHERE seq = 7').run());
  assert.equal(deleted.problems[0]!.kind, 'removed');
  assert.equal(deleted.problems[0]!.seq, 7);
  assert.match(deleted.problems[0]!.message, /record 7 is missing/);

  const reordered = tampered(a, (db) => {
    db.prepare('UPDATE records SET seq = -1 WHERE seq = 3').run();
    db.prepare('UPDATE records SET seq = 3 WHERE seq = 4').run();
    db.prepare('UPDATE records SET seq = 4 WHERE seq = -1').run();
  });
  assert.deepEqual(reordered.problems.map((p) => [p.kind, p.seq]), [['reordered', 3], ['reordered', 4]]);
  assert.match(reordered.problems[0]!.message, /record 3 was moved: it was written as record 4/);

  // Rewriting the whole chain after an edit makes every hash consistent again, but not the
  // checkpoints signed with the key that is not in the database.
  const rewritten = tampered(a, (db) => {
    db.prepare("UPDATE records SET body = 'rewritten history' WHERE seq = 2").run();
    let prev = (db.prepare('SELECT hash FROM records WHERE seq = 1').get() as { hash: string }).hash;
    for (const r of db.prepare('SELECT * FROM records WHERE seq >= 2 ORDER BY seq').all() as ArchiveRecord[]) {
      const hash = recordHash({ ...r, prev_hash: prev });
      db.prepare('UPDATE records SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, r.seq);
      prev = hash;
    }
  });
  assert.equal(rewritten.ok, false);
  assert.equal(rewritten.problems[0]!.kind, 'checkpoint');
  assert.match(rewritten.problems[0]!.message, /chain was rewritten/);
});

test('the archive fails closed when its database is locked: the sender gets an error and nothing unarchived is delivered', async (t) => {
  const s = await archiveServer(t, { busy_timeout: '300ms' });
  const [alice, bob] = await users(s, 'alice', 'bob');
  await alice!.send(chat('bob@localhost', 'before the lock'));
  await bob!.next(isBody('before the lock'));

  const locker = new Database(archiveDbFile(s));
  locker.prepare('BEGIN IMMEDIATE').run();
  await alice!.send(chat('bob@localhost', 'while locked'));
  const err = await alice!.next(isError, 5000);
  assert.equal(err.attrs.id, 'm-while locked');
  assert.ok(err.getChild('error')!.getChild('internal-server-error'));
  // More refusals while it lasts: each sender is told, the log gets one line, not one per message.
  for (let i = 0; i < 4; i++) {
    await alice!.send(chat('bob@localhost', `still locked ${i}`));
    assert.equal((await alice!.next(isError, 5000)).attrs.id, `m-still locked ${i}`);
  }
  assert.equal(s.logs.filter((l) => l.msg === 'audit failed; stanza refused').length, 1);
  await bob!.nothing(isBody('while locked'), 300);
  // Everyone else is still served meanwhile.
  const pong = await bob!.iq(xml('iq', { type: 'get', to: 'localhost', id: 'p1' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(pong.attrs.type, 'result');
  locker.prepare('ROLLBACK').run();
  locker.close();

  await alice!.send(chat('bob@localhost', 'after the lock'));
  await bob!.next(isBody('after the lock'));
  assert.ok(s.logs.some((l) => l.msg === 'archive cannot write; messages are refused until it can' && l.code === 'SQLITE_BUSY'));
  await s.stop();
  assert.deepEqual(readRecords(archiveDbFile(s)).map((r) => r.body), ['before the lock', 'after the lock']);
});

test('a full archive volume makes sending fail with an error, and every delivered message is archived', async (t) => {
  const s = await archiveServer(t, { max_size: '400KiB' });
  const [alice, bob] = await users(s, 'alice', 'bob');
  const delivered: string[] = [];
  let refused: string | null = null;
  for (let i = 0; i < 40 && !refused; i++) {
    const body = `${i} ${'x'.repeat(30_000)}`;
    await alice!.send(chat('bob@localhost', body));
    // Delivered, or else refused: a waiter left over from an earlier round would take a later
    // stanza, so the two waits run one after the other.
    const answer = await bob!.next(isBody(body), 2000).then(() => 'delivered' as const,
      () => alice!.next(isError, 3000).then(() => 'refused' as const, () => 'neither' as const));
    assert.notEqual(answer, 'neither', `message ${i}: neither delivered nor refused`);
    if (answer === 'delivered') delivered.push(body); else refused = body;
  }
  assert.ok(refused, 'the size limit was reached within 40 messages of 30 KB');
  assert.ok(delivered.length > 0);
  await bob!.nothing(isBody(refused!), 300);
  assert.ok(s.logs.some((l) => l.msg === 'archive cannot write; messages are refused until it can' && l.code === 'SQLITE_FULL'));
  await s.stop();
  assert.deepEqual(readRecords(archiveDbFile(s)).map((r) => r.body), delivered);
});

test('with on_failure fail_open a message is delivered unarchived, with a loud log line', async (t) => {
  const s = await archiveServer(t, { busy_timeout: '200ms', on_failure: 'fail_open' });
  const [alice, bob] = await users(s, 'alice', 'bob');
  const locker = new Database(archiveDbFile(s));
  locker.prepare('BEGIN IMMEDIATE').run();
  await alice!.send(chat('bob@localhost', 'open anyway'));
  await bob!.next(isBody('open anyway'), 5000);
  locker.prepare('ROLLBACK').run();
  locker.close();
  assert.ok(s.logs.some((l) => l.level === 50 && String(l.msg).includes('WITHOUT a record')));
  assert.ok(s.logs.some((l) => l.level === 40 && String(l.msg).includes('fails OPEN')));
});

test('checkpoints are signed at the configured interval into the append-only file', async (t) => {
  const s = await archiveServer(t, { checkpoints: { interval: '200ms' } });
  const [alice, bob] = await users(s, 'alice', 'bob');
  await alice!.send(chat('bob@localhost', 'checkpointed'));
  await bob!.next(isBody('checkpointed'));
  const file = path.join(s.dataDir, 'archive-keys', 'checkpoints.log');
  for (let i = 0; i < 50 && !(fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim()); i++) await new Promise((r) => setTimeout(r, 100));
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string; sig: string });
  const [r] = readRecords(archiveDbFile(s));
  assert.equal(lines.at(-1)!.seq, 1);
  assert.equal(lines.at(-1)!.hash, r!.hash);
  assert.ok(lines.at(-1)!.sig.length > 40);
});

test('checkpoints also go to a syslog collector when one is configured', async (t) => {
  const dgram = await import('node:dgram');
  const collector = dgram.createSocket('udp4');
  const received: string[] = [];
  collector.on('message', (m) => received.push(m.toString('utf8')));
  await new Promise<void>((resolve) => collector.bind(0, '127.0.0.1', resolve));
  t.after(() => collector.close());
  const s = await archiveServer(t, { checkpoints: { interval: '200ms', syslog: { host: '127.0.0.1', port: collector.address().port } } });
  const [alice, bob] = await users(s, 'alice', 'bob');
  await alice!.send(chat('bob@localhost', 'to syslog'));
  await bob!.next(isBody('to syslog'));
  for (let i = 0; i < 50 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(received.length, 1);
  // RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG, facility 13 (log audit), severity notice.
  assert.match(received[0]!, /^<109>1 \S+ \S+ parley \d+ archive - archive checkpoint \{"v":1,"seq":1,/);
});

test('a burst from one client is recorded and delivered in the order sent', async (t) => {
  const s = await archiveServer(t);
  const [alice, bob] = await users(s, 'alice', 'bob');
  const bodies = Array.from({ length: 300 }, (_, i) => `burst ${i}`);
  // Sent without waiting: the server takes the next message while earlier ones are being recorded.
  await Promise.all(bodies.map((b, i) => alice!.send(i % 50 === 49
    ? xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, b))
    : chat('bob@localhost', b))));
  // An IQ behind the burst waits for it and is still answered.
  const pong = await alice!.iq(xml('iq', { type: 'get', to: 'localhost', id: 'after-burst' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(pong.attrs.type, 'result');
  const got: string[] = [];
  for (let i = 0; i < bodies.length; i++) got.push((await bob!.next((el) => el.name === 'message' && el.getChildText('body')?.startsWith('burst ') === true)).getChildText('body')!);
  assert.deepEqual(got, bodies);
  await s.stop();
  assert.deepEqual(readRecords(archiveDbFile(s)).map((r) => r.body), bodies);
});

test('with the default modules a message is accepted in the call that takes it, so a sender\'s messages are pipelined', async (t) => {
  // Any stanza/in hook of a default module that returns a promise for a message would make the
  // router wait for it before the audit, and a sender's next message would wait for the record
  // of the one before (one record per sender per transaction).
  const s = await startServer(t, { logLevel: 'info' });
  const [alice, bob] = await users(s, 'alice', 'bob');
  const router = s.server.router;
  const accepted: boolean[] = [];
  const fromClient = router.fromClient.bind(router);
  router.fromClient = (session, stanza, order) => {
    const done = fromClient(session, stanza, order);
    if (order && stanza.name === 'message' && stanza.getChildText('body')?.startsWith('pipelined ')) accepted.push(order.accepted);
    return done;
  };
  const bodies = Array.from({ length: 20 }, (_, i) => `pipelined ${i}`);
  await Promise.all(bodies.map((b) => alice!.send(chat('bob@localhost', b))));
  for (const b of bodies) await bob!.next(isBody(b));
  assert.deepEqual(accepted, bodies.map(() => true));
});
