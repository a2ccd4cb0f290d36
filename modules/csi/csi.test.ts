import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import { RawClient } from '../../test/kit/raw.js';
import type { TestClient } from '../../test/kit/client.js';

const CSI = 'urn:xmpp:csi:0';
const MODULES = { modules: { disco: {}, ping: {}, message: {}, roster: {}, presence: {}, csi: {} } };

/** Set the client state; the ping round trip makes sure the server has processed it (in-order processing, XEP-0352 section 5.1). */
async function setState(c: TestClient, state: 'active' | 'inactive'): Promise<void> {
  await c.send(xml(state, { xmlns: CSI }));
  const pong = await c.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(pong.attrs.type, 'result');
}

const directedPresence = (to: string, show: string) => xml('presence', { to }, xml('show', {}, show));
const presenceFrom = (from: string, show?: string) => (el: Element) =>
  el.name === 'presence' && el.attrs.from === from && (show === undefined || el.getChildText('show') === show);
const isMessage = (el: Element) => el.name === 'message';

async function setup(t: Parameters<typeof startServer>[0]) {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice', { resource: 'phone' });
  const bob = await s.connect('bob', { resource: 'desk' });
  return { s, alice, bob };
}

test('client state indication is offered in the stream features after authentication', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  const raw = await RawClient.authenticated(s.ports.c2s, 'alice', 'alice-secret');
  t.after(() => raw.destroy());
  assert.match(raw.received, /<csi xmlns="urn:xmpp:csi:0"\/>/);
});

test('while inactive, presence updates wait and only the latest of each contact comes on active', async (t) => {
  const { alice, bob } = await setup(t);
  await setState(alice, 'inactive');
  await bob.send(directedPresence(alice.jid, 'away'));
  await bob.send(directedPresence(alice.jid, 'xa'));
  await bob.send(directedPresence(alice.jid, 'dnd'));
  await alice.nothing(presenceFrom(bob.jid));
  await setState(alice, 'active');
  await alice.next(presenceFrom(bob.jid, 'dnd'));
  await alice.nothing(presenceFrom(bob.jid));
});

test('a message with a body is delivered at once, after the presence held before it', async (t) => {
  const { alice, bob } = await setup(t);
  await setState(alice, 'inactive');
  await bob.send(directedPresence(alice.jid, 'away'));
  await alice.nothing(presenceFrom(bob.jid));
  await bob.send(xml('message', { to: alice.jid, type: 'chat' }, xml('body', {}, 'wake up')));
  const fromBob = (el: Element) => el.attrs.from === bob.jid && (el.name === 'presence' || el.name === 'message');
  const first = await alice.next(fromBob);
  const second = await alice.next(fromBob);
  assert.equal(first.name, 'presence', 'the held presence comes first');
  assert.equal(second.getChildText('body'), 'wake up');
});

test('chat states wait while inactive and come when the client is active again', async (t) => {
  const { alice, bob } = await setup(t);
  await setState(alice, 'inactive');
  const state = (s: string) => xml('message', { to: alice.jid, type: 'chat' }, xml(s, { xmlns: 'http://jabber.org/protocol/chatstates' }));
  await bob.send(state('composing'));
  await bob.send(state('paused'));
  await alice.nothing(isMessage);
  await setState(alice, 'active');
  const got = await alice.next(isMessage);
  // Only the latest chat state of a sender is worth sending.
  assert.ok(got.getChild('paused', 'http://jabber.org/protocol/chatstates'));
  await alice.nothing(isMessage);
});

test('an IQ request is never held back', async (t) => {
  const { alice, bob } = await setup(t);
  await setState(alice, 'inactive');
  // alice's client answers disco#info itself (service-unavailable), so bob gets an answer only if it went through.
  const answer = await bob.iq(xml('iq', { type: 'get', to: alice.jid }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.ok(answer.attrs.type === 'result' || answer.attrs.type === 'error');
});

test('another client of the same account is not affected by one being inactive', async (t) => {
  const { s, alice, bob } = await setup(t);
  const desk = await s.connect('alice', { resource: 'desk' });
  await setState(alice, 'inactive');
  await bob.send(directedPresence(desk.jid, 'away'));
  await desk.next(presenceFrom(bob.jid, 'away'));
});
