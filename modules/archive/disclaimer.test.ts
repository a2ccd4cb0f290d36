import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import { coreConfigSchema } from '../../server/config/schema.js';
import { startServer, type TestServer } from '../../test/kit/server.js';
import type { TestClient } from '../../test/kit/client.js';
import { writeModule } from '../../test/kit/modules.js';

// The recording notice (issue 6): at login, and to both sides of a conversation with an external
// contact (a partner account, or another domain), at most once per period.

const TEXT = 'Conversations on this server are recorded.';
const HINTS = 'urn:xmpp:hints';

/** Accounts whose name starts with "partner" are extranet partners, as a directory would say. */
const PARTNERS = writeModule('test-partners', `
import { defineModule } from 'API';
export default defineModule({
  name: 'test-partners',
  setup(ctx) {
    ctx.auth.addProvider({
      name: 'test partners',
      exists: () => false,
      sessionKind: (local) => (local.startsWith('partner') ? 'partner' : undefined),
    });
  },
});
`);

/**
 * A stand-in for federation with remote.example, for these tests only: what goes to that domain
 * is shown, unchanged, to the sessions of spy@localhost; an IQ from spy injects a message as if a
 * remote server had sent it.
 */
const REMOTE_OUT = writeModule('test-remote-out', `
import { defineModule, handled } from 'API';
export default defineModule({
  name: 'test-remote-out',
  setup(ctx) {
    ctx.hooks.on('route/remote', (event) => {
      if (event.to.domain !== 'remote.example') return;
      for (const s of ctx.sessions.ofAccount('spy@localhost')) ctx.router.deliver(s, event.stanza);
      return handled();
    });
  },
});
`);
const REMOTE_IN = writeModule('test-remote-in', `
import { defineModule, xml } from 'API';
export default defineModule({
  name: 'test-remote-in',
  setup(ctx) {
    ctx.iq.handle({ type: 'set', xmlns: 'urn:test:remote', name: 'inject', to: 'server' }, async (iq) => {
      const m = iq.payload.getChildElements()[0];
      await ctx.router.send(xml('message', { ...m.attrs }, ...m.getChildElements().map((c) => xml(c.name, { ...c.attrs }, c.getText()))));
    });
  },
});
`);

const DEFAULTS = coreConfigSchema.shape.modules.parse(undefined) as Record<string, unknown>;

async function server(t: Parameters<typeof startServer>[0], disclaimer: Record<string, unknown>, opts: { dataDir?: string; remote?: 'both' | 'in' } = {}): Promise<TestServer> {
  const remote = opts.remote === 'both' ? { 'test-remote-out': {}, 'test-remote-in': {} } : opts.remote === 'in' ? { 'test-remote-in': {} } : {};
  const s = await startServer(t, {
    modules: { ...DEFAULTS, 'test-partners': {}, ...remote, archive: { disclaimer: { text: TEXT, ...disclaimer } } },
    config: { module_paths: [PARTNERS, REMOTE_OUT, REMOTE_IN] },
    logLevel: 'info',
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
  });
  if (!opts.dataDir) for (const u of ['alice', 'bob', 'partner-dana', 'spy']) await s.createUser(u);
  return s;
}

const isNotice = (el: Element) => el.name === 'message' && el.attrs.from === 'localhost' && el.getChildText('body') === TEXT;
const isNoticeTo = (to: string) => (el: Element) => isNotice(el) && el.attrs.to === to;
const chat = (to: string, body: string, id = `m-${body}`) => xml('message', { to, type: 'chat', id }, xml('body', {}, body));
const isChat = (body: string) => (el: Element) => el.name === 'message' && el.attrs.type === 'chat' && el.getChildText('body') === body;
const isError = (el: Element) => el.name === 'message' && el.attrs.type === 'error';
const errorLines = (s: TestServer) => s.logs.filter((l) => (l.level as number) >= 50);

/** The order in which a client received stanzas, for "the message goes first" checks. */
function arrivals(c: TestClient): Element[] {
  const seen: Element[] = [];
  c.xmpp.on('stanza', (el: Element) => seen.push(el));
  return seen;
}

// ---- at login -------------------------------------------------------------------------------

test('at login the notice comes from the server as a normal message with a subject and storage hints', async (t) => {
  const s = await server(t, { at_login: true });
  const alice = await s.connect('alice');
  const n = await alice.next(isNotice);
  assert.equal(n.attrs.type, 'normal');
  assert.equal(n.attrs.to, alice.jid);
  assert.equal(n.getChildText('subject'), 'Recording notice');
  assert.ok(n.getChild('no-store', HINTS), 'no-store hint');
  assert.ok(n.getChild('no-copy', HINTS), 'no-copy hint');
  await alice.nothing(isNotice, 300);
});

test('a second device of the same account that logs in within the period gets no notice', async (t) => {
  const s = await server(t, { at_login: true });
  const phone = await s.connect('alice', { resource: 'phone' });
  await phone.next(isNotice);
  const desk = await s.connect('alice', { resource: 'desk' });
  await desk.nothing(isNotice, 700);
  await phone.nothing(isNotice, 10);
  // Another account is a different person: it gets its own notice.
  const bob = await s.connect('bob');
  await bob.next(isNotice);
});

test('after the period the notice is sent again at the next login', async (t) => {
  const s = await server(t, { at_login: true, period: '1s' });
  const first = await s.connect('alice');
  await first.next(isNotice);
  const sentAt = Date.now();
  await first.stop();
  const within = await s.connect('alice');
  await within.nothing(isNotice, 200);
  await within.stop();
  // Waiting for the clock, not for a stanza: the period has to pass.
  await new Promise((r) => setTimeout(r, Math.max(0, sentAt + 1100 - Date.now())));
  const after = await s.connect('alice');
  await after.next(isNotice, 3000);
});

test('the login notice is remembered across a restart of the server', async (t) => {
  const first = await server(t, { at_login: true });
  const alice = await first.connect('alice');
  await alice.next(isNotice);
  await first.stop();
  const again = await server(t, { at_login: true }, { dataDir: first.dataDir });
  const bob = await again.connect('bob');
  await bob.next(isNotice);
  const aliceAgain = await again.connect('alice');
  await aliceAgain.nothing(isNotice, 500);
});

test('without at_login nobody gets a notice at login', async (t) => {
  const s = await server(t, { external: true });
  const alice = await s.connect('alice');
  await alice.nothing(isNotice, 500);
});

// ---- conversations with external contacts ---------------------------------------------------

test('an employee writing to a partner: both get the notice once, after the message, and not again in the period in either direction', async (t) => {
  const s = await server(t, { external: true });
  const alice = await s.connect('alice');
  const dana = await s.connect('partner-dana');
  const danaSaw = arrivals(dana);

  await alice.send(chat('partner-dana@localhost', 'hello dana'));
  await dana.next(isChat('hello dana'));
  const toDana = await dana.next(isNoticeTo(dana.jid));
  const toAlice = await alice.next(isNoticeTo(alice.jid));
  assert.equal(toDana.attrs.type, 'normal');
  assert.equal(toAlice.getChildText('subject'), 'Recording notice');
  const order = danaSaw.filter((el) => isChat('hello dana')(el) || isNotice(el)).map((el) => (isNotice(el) ? 'notice' : 'message'));
  assert.deepEqual(order, ['message', 'notice']);

  await alice.send(chat('partner-dana@localhost', 'second'));
  await dana.next(isChat('second'));
  await dana.send(chat('alice@localhost', 'reply'));
  await alice.next(isChat('reply'));
  await alice.nothing(isNotice, 500);
  await dana.nothing(isNotice, 10);
});

test('a partner writing first to an employee brings the notice to both', async (t) => {
  const s = await server(t, { external: true });
  const alice = await s.connect('alice');
  const dana = await s.connect('partner-dana');
  await dana.send(chat('alice@localhost', 'hi from dana'));
  await alice.next(isChat('hi from dana'));
  await alice.next(isNoticeTo(alice.jid));
  await dana.next(isNoticeTo(dana.jid));
});

test('an employee writing to an offline partner gets the notice (the partner kind is looked up off the message path)', async (t) => {
  const s = await server(t, { external: true });
  const alice = await s.connect('alice');
  await alice.send(chat('partner-dana@localhost', 'are you there'));
  await alice.next(isNoticeTo(alice.jid));
  // The offline message waits for dana; the pair has had its notice for this period.
  const dana = await s.connect('partner-dana');
  await dana.next(isChat('are you there'));
  await dana.nothing(isNotice, 500);
});

test('every available device of the local people gets the notice', async (t) => {
  const s = await server(t, { external: true });
  const phone = await s.connect('alice', { resource: 'phone' });
  const desk = await s.connect('alice', { resource: 'desk' });
  const dana = await s.connect('partner-dana');
  await phone.send(chat('partner-dana@localhost', 'from my phone'));
  await dana.next(isChat('from my phone'));
  await phone.next(isNoticeTo(phone.jid));
  await desk.next(isNoticeTo(desk.jid));
});

test('a conversation between two employees brings no notice', async (t) => {
  const s = await server(t, { external: true });
  const alice = await s.connect('alice');
  const bob = await s.connect('bob');
  await alice.send(chat('bob@localhost', 'internal'));
  await bob.next(isChat('internal'));
  await bob.send(chat('alice@localhost', 'internal too'));
  await alice.next(isChat('internal too'));
  await alice.nothing(isNotice, 500);
  await bob.nothing(isNotice, 10);
});

test('chat states alone start no conversation; the first message with a body does', async (t) => {
  const s = await server(t, { external: true });
  const alice = await s.connect('alice');
  const dana = await s.connect('partner-dana');
  await alice.send(xml('message', { to: 'partner-dana@localhost', type: 'chat' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
  await dana.next((el) => el.getChild('composing') !== undefined);
  await dana.nothing(isNotice, 400);
  await alice.send(chat('partner-dana@localhost', 'now with words'));
  await dana.next(isChat('now with words'));
  await dana.next(isNoticeTo(dana.jid));
  await alice.next(isNoticeTo(alice.jid));
});

test('a message that policy blocks brings no notice', async (t) => {
  const s = await server(t, { external: true });
  const alice = await s.connect('alice');
  const dana = await s.connect('partner-dana');
  const r = await alice.iq(xml('iq', { type: 'set' }, xml('block', { xmlns: 'urn:xmpp:blocking' }, xml('item', { jid: 'partner-dana@localhost' }))));
  assert.equal(r.attrs.type, 'result');
  await alice.send(chat('partner-dana@localhost', 'blocked'));
  await alice.next(isError);
  await alice.nothing(isNotice, 500);
  await dana.nothing(isNotice, 10);
});

test('a conversation with a contact on another domain: the local person and the remote contact get the notice', async (t) => {
  const s = await server(t, { external: true }, { remote: 'both' });
  const spy = await s.connect('spy');
  const alice = await s.connect('alice');
  const spySaw = arrivals(spy);
  await alice.send(chat('carol@remote.example', 'hello carol'));
  await spy.next(isChat('hello carol'));
  const remote = await spy.next(isNoticeTo('carol@remote.example'));
  assert.equal(remote.attrs.type, 'normal');
  assert.ok(remote.getChild('no-permanent-store', HINTS), 'the remote copy may wait offline but stays out of archives');
  assert.ok(remote.getChild('no-copy', HINTS));
  await alice.next(isNoticeTo(alice.jid));
  const order = spySaw.filter((el) => isChat('hello carol')(el) || isNotice(el)).map((el) => (isNotice(el) ? 'notice' : 'message'));
  assert.deepEqual(order, ['message', 'notice']);

  await alice.send(chat('carol@remote.example', 'again'));
  await spy.next(isChat('again'));
  await spy.nothing(isNotice, 500);
  await alice.nothing(isNotice, 10);
});

test('a message from a remote contact to an employee brings the notice to both', async (t) => {
  const s = await server(t, { external: true }, { remote: 'both' });
  const spy = await s.connect('spy');
  const alice = await s.connect('alice');
  const inject = xml('iq', { type: 'set', to: 'localhost' }, xml('inject', { xmlns: 'urn:test:remote' },
    xml('message', { from: 'carol@remote.example/laptop', to: 'alice@localhost', type: 'chat', id: 'r1' }, xml('body', {}, 'from afar'))));
  assert.equal((await spy.iq(inject)).attrs.type, 'result');
  await alice.next(isChat('from afar'));
  await alice.next(isNoticeTo(alice.jid));
  await spy.next(isNoticeTo('carol@remote.example/laptop'));
});

test('without federation the remote copy of the notice bounces quietly: no crash, nothing logged as an error', async (t) => {
  const s = await server(t, { external: true }, { remote: 'in' });
  const spy = await s.connect('spy');
  const alice = await s.connect('alice');
  const inject = xml('iq', { type: 'set', to: 'localhost' }, xml('inject', { xmlns: 'urn:test:remote' },
    xml('message', { from: 'carol@remote.example/laptop', to: 'alice@localhost', type: 'chat', id: 'r2' }, xml('body', {}, 'from afar'))));
  assert.equal((await spy.iq(inject)).attrs.type, 'result');
  await alice.next(isChat('from afar'));
  await alice.next(isNoticeTo(alice.jid));
  // The server still serves: a ping round trip after the bounce.
  const pong = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(pong.attrs.type, 'result');
  await alice.nothing(isError, 200);
  assert.deepEqual(errorLines(s), []);
});

test('without federation a message to another domain bounces to its sender and brings no notice', async (t) => {
  const s = await server(t, { external: true });
  const alice = await s.connect('alice');
  await alice.send(chat('carol@remote.example', 'nowhere'));
  const err = await alice.next(isError);
  assert.equal(err.attrs.from, 'carol@remote.example');
  await alice.nothing(isNotice, 500);
  assert.deepEqual(errorLines(s), []);
});

test('with both options off nobody gets a notice, at login or with a partner', async (t) => {
  const s = await server(t, {});
  const alice = await s.connect('alice');
  const dana = await s.connect('partner-dana');
  await alice.send(chat('partner-dana@localhost', 'no notice please'));
  await dana.next(isChat('no notice please'));
  await alice.nothing(isNotice, 500);
  await dana.nothing(isNotice, 10);
});
