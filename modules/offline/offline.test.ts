import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { xml, type Element } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import type { TestClient } from '../../test/kit/client.js';
import { SCHEMA_ROOT } from '../../server/paths.js';
import { applyMigrations, openDatabase } from '../../server/storage/database.js';
import { Jid } from '../../server/xml/jid.js';
import { openOfflineStore } from './store.js';

const MODULES = { disco: {}, ping: {}, message: {}, offline: {} };
const DELAY = 'urn:xmpp:delay';

const chat = (to: string, body: string, type = 'chat') => xml('message', { to, type, id: `m-${body}` }, xml('body', {}, body));
const isChat = (el: Element) => el.name === 'message' && el.attrs.type !== 'error';
const isError = (el: Element) => el.name === 'message' && el.attrs.type === 'error';

/** One client's stanzas are handled in order: once a ping it sent afterwards is answered, what it sent before was processed. */
async function processed(c: TestClient): Promise<void> {
  const r = await c.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(r.attrs.type, 'result');
}

test('a message to an offline user is delivered with a delay stamp at login', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const before = Date.now();
  await alice.send(chat('bob@localhost', 'while you were out'));
  await processed(alice);
  await alice.nothing(isError, 200);

  const bob = await s.connect('bob');
  const got = await bob.next(isChat);
  assert.equal(got.getChildText('body'), 'while you were out');
  assert.equal(got.attrs.from, alice.jid);
  assert.equal(got.attrs.id, 'm-while you were out');
  const delay = got.getChild('delay', DELAY);
  assert.ok(delay, 'a XEP-0203 delay element');
  assert.equal(delay.attrs.from, 'localhost');
  assert.equal(delay.getText(), 'Offline Storage');
  const stamp = Date.parse(delay.attrs.stamp!);
  assert.ok(stamp >= before - 1000 && stamp <= Date.now(), `stamp ${delay.attrs.stamp} is when the message was stored`);
});

test('stored messages are delivered in the order they were sent, and only once', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  for (const n of ['one', 'two', 'three', 'four']) await alice.send(chat('bob@localhost', n));
  await processed(alice);

  const bob = await s.connect('bob');
  const bodies: string[] = [];
  for (let i = 0; i < 4; i++) bodies.push((await bob.next(isChat)).getChildText('body')!);
  assert.deepEqual(bodies, ['one', 'two', 'three', 'four']);
  await bob.stop();

  const again = await s.connect('bob', { resource: 'again' });
  await again.nothing(isChat);
});

test('a message to the full JID of a resource that is gone is stored for the account', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  await alice.send(chat('bob@localhost/laptop', 'to the laptop'));
  await processed(alice);
  const bob = await s.connect('bob', { resource: 'phone' });
  assert.equal((await bob.next(isChat)).getChildText('body'), 'to the laptop');
});

test("when the recipient's offline storage is full the sender gets service-unavailable", async (t) => {
  const s = await startServer(t, { modules: { ...MODULES, offline: { max_messages_per_user: 2 } } });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  await alice.send(chat('bob@localhost', 'first'));
  await alice.send(chat('bob@localhost', 'second'));
  await alice.send(chat('bob@localhost', 'third'));
  const err = await alice.next(isError);
  assert.equal(err.attrs.id, 'm-third');
  assert.equal(err.attrs.from, 'bob@localhost');
  const error = err.getChild('error')!;
  assert.equal(error.attrs.type, 'cancel');
  assert.ok(error.getChild('service-unavailable', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
  assert.match(error.getChildText('text', 'urn:ietf:params:xml:ns:xmpp-stanzas') ?? '', /offline message storage of bob@localhost is full/);

  const bob = await s.connect('bob');
  assert.equal((await bob.next(isChat)).getChildText('body'), 'first');
  assert.equal((await bob.next(isChat)).getChildText('body'), 'second');
  await bob.nothing(isChat);
});

test('offline messages survive a server restart', async (t) => {
  const first = await startServer(t, { modules: MODULES });
  await first.createUser('alice');
  await first.createUser('bob');
  const alice = await first.connect('alice');
  await alice.send(chat('bob@localhost', 'kept on disk'));
  await processed(alice);
  await first.stop();

  const second = await startServer(t, { dataDir: first.dataDir, modules: MODULES });
  const bob = await second.connect('bob');
  const got = await bob.next(isChat);
  assert.equal(got.getChildText('body'), 'kept on disk');
  assert.ok(got.getChild('delay', DELAY));
});

test('a headline to an offline user is not stored', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  await alice.send(chat('bob@localhost', 'breaking news', 'headline'));
  await processed(alice);
  await alice.nothing(isError, 200);
  const bob = await s.connect('bob');
  await bob.nothing(isChat);
});

test('a chat state notification alone is not stored, and the sender learns the recipient is unavailable', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  await alice.send(xml('message', { to: 'bob@localhost', type: 'chat', id: 'typing' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
  const err = await alice.next(isError);
  assert.equal(err.attrs.id, 'typing');
  assert.ok(err.getChild('error')!.getChild('service-unavailable'));
  const bob = await s.connect('bob');
  await bob.nothing(isChat);
});

test('a message with a no-store hint is not stored', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  await alice.send(xml('message', { to: 'bob@localhost', type: 'chat', id: 'secret' }, xml('body', {}, 'ephemeral'), xml('no-store', { xmlns: 'urn:xmpp:hints' })));
  assert.ok((await alice.next(isError)).getChild('error')!.getChild('service-unavailable'));
  const bob = await s.connect('bob');
  await bob.nothing(isChat);
});

test('a negative-priority login does not receive offline messages, a later non-negative one does', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  await alice.send(chat('bob@localhost', 'before the bot'));
  await processed(alice);

  const bot = await s.connect('bob', { resource: 'bot', priority: -1 });
  await bot.nothing(isChat);
  // Still nobody with non-negative priority: this one is stored too.
  await alice.send(chat('bob@localhost', 'while only the bot is on'));
  await processed(alice);
  await bot.nothing(isChat, 200);

  const phone = await s.connect('bob', { resource: 'phone', priority: 1 });
  assert.equal((await phone.next(isChat)).getChildText('body'), 'before the bot');
  assert.equal((await phone.next(isChat)).getChildText('body'), 'while only the bot is on');
  await bot.nothing(isChat, 200);
});

test('a resource that raises its priority from negative receives the stored messages', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const bob = await s.connect('bob', { priority: -5 });
  await alice.send(chat('bob@localhost', 'waiting for you'));
  await processed(alice);
  await bob.nothing(isChat, 200);
  await bob.send(xml('presence', {}, xml('priority', {}, '3')));
  assert.equal((await bob.next(isChat)).getChildText('body'), 'waiting for you');
});

test('the server advertises offline message storage in service discovery', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const info = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  const features = info.getChild('query')!.getChildren('feature').map((f) => f.attrs.var);
  assert.ok(features.includes('msgoffline'));
});

test('the offline messages of a deleted account are removed', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  await alice.send(chat('bob@localhost', 'for the old bob'));
  await processed(alice);
  const count = () => s.server.db.prepare("SELECT COUNT(*) FROM offline_messages WHERE owner = 'bob@localhost'").pluck().get();
  assert.equal(count(), 1);

  await s.server.deleteAccount(Jid.parse('bob@localhost'));
  assert.equal(count(), 0);
  await s.createUser('bob');
  const bob = await s.connect('bob');
  await bob.nothing(isChat);
});

test('messages older than max_age are purged and never replayed', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-offline-'));
  const db = openDatabase(dir);
  try {
    applyMigrations(db, path.join(SCHEMA_ROOT, 'offline'), 'offline');
    const store = openOfflineStore({ db });
    const msg = (body: string) => xml('message', { to: 'bob@localhost', from: 'alice@localhost/a', type: 'chat' }, xml('body', {}, body));
    assert.equal(store.add('bob@localhost', 'alice@localhost/a', 1_000, msg('old'), 10), true);
    assert.equal(store.add('bob@localhost', 'alice@localhost/a', 5_000, msg('new'), 10), true);
    // Replay asks only for what is young enough, even before the purge timer ran.
    assert.deepEqual(store.pending('bob@localhost', 2_000, 0, 10).map((m) => m.stanza.getChildText('body')), ['new']);
    assert.equal(store.purgeOlderThan(2_000), 1);
    assert.equal(store.count('bob@localhost'), 1);
    const [kept] = store.pending('bob@localhost', 0, 0, 10);
    assert.equal(kept!.sender, 'alice@localhost/a');
    assert.equal(kept!.storedAt, 5_000);
    assert.equal(kept!.stanza.toString(), msg('new').toString());
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
