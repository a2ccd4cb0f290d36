import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import type { TestClient } from '../../test/kit/client.js';

const CARBONS = 'urn:xmpp:carbons:2';
const FORWARD = 'urn:xmpp:forward:0';
const MODULES = { modules: { disco: {}, ping: {}, message: {}, carbons: {} } };

const chat = (to: string, body: string, ...extra: Element[]) => xml('message', { to, type: 'chat', id: `m-${body.replaceAll(' ', '-')}` }, xml('body', {}, body), ...extra);
const isBody = (body: string) => (el: Element) => el.name === 'message' && el.getChildText('body') === body;
const isCarbon = (kind: 'sent' | 'received') => (el: Element) => el.name === 'message' && el.getChild(kind, CARBONS) !== undefined;
const anyCarbon = (el: Element) => isCarbon('sent')(el) || isCarbon('received')(el);
/** The message inside a carbon copy. */
const forwarded = (carbon: Element, kind: 'sent' | 'received') => carbon.getChild(kind, CARBONS)!.getChild('forwarded', FORWARD)!.getChild('message')!;

async function enableCarbons(c: TestClient): Promise<void> {
  const r = await c.iq(xml('iq', { type: 'set' }, xml('enable', { xmlns: CARBONS })));
  assert.equal(r.attrs.type, 'result', r.toString());
}

/** alice, and bob on a desk (priority 10) and a phone (priority 1), both with carbons. */
async function setup(t: Parameters<typeof startServer>[0]) {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice', { resource: 'laptop' });
  const desk = await s.connect('bob', { resource: 'desk', priority: 10 });
  const phone = await s.connect('bob', { resource: 'phone', priority: 1 });
  await enableCarbons(desk);
  await enableCarbons(phone);
  return { s, alice, desk, phone };
}

test('carbons are announced in the server\'s disco#info', async (t) => {
  const { desk } = await setup(t);
  const info = await desk.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.ok(info.getChild('query')!.getChildren('feature').some((f) => f.attrs.var === CARBONS));
});

test('a message to the bare JID reaches the other device as a received copy', async (t) => {
  const { alice, desk, phone } = await setup(t);
  await alice.send(chat('bob@localhost', 'hello bob'));
  await desk.next(isBody('hello bob'));
  const carbon = await phone.next(isCarbon('received'));
  assert.equal(carbon.attrs.from, 'bob@localhost');
  assert.equal(carbon.attrs.to, 'bob@localhost/phone');
  assert.equal(carbon.attrs.type, 'chat');
  const inner = forwarded(carbon, 'received');
  assert.equal(inner.attrs.from, 'alice@localhost/laptop');
  assert.equal(inner.getChildText('body'), 'hello bob');
  // The device that got the message gets no copy of it.
  await desk.nothing(anyCarbon);
});

test('a message to one resource is copied to the others, not to that resource', async (t) => {
  const { alice, desk, phone } = await setup(t);
  await alice.send(chat('bob@localhost/phone', 'to the phone'));
  await phone.next(isBody('to the phone'));
  const carbon = await desk.next(isCarbon('received'));
  assert.equal(forwarded(carbon, 'received').attrs.to, 'bob@localhost/phone');
  await phone.nothing(anyCarbon);
});

test('a message sent from one device reaches the other device as a sent copy', async (t) => {
  const { alice, desk, phone } = await setup(t);
  await desk.send(chat('alice@localhost', 'from the desk'));
  await alice.next(isBody('from the desk'));
  const carbon = await phone.next(isCarbon('sent'));
  assert.equal(carbon.attrs.from, 'bob@localhost');
  const inner = forwarded(carbon, 'sent');
  assert.equal(inner.attrs.from, 'bob@localhost/desk');
  assert.equal(inner.attrs.to, 'alice@localhost');
  assert.equal(inner.getChildText('body'), 'from the desk');
  assert.equal(carbon.attrs.id, 'm-from-the-desk');
  // The sending device gets no copy of its own message.
  await desk.nothing(anyCarbon);
});

test('a sent copy goes out even when the sending device has not enabled carbons', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const desk = await s.connect('bob', { resource: 'desk' });
  const phone = await s.connect('bob', { resource: 'phone' });
  await enableCarbons(phone);
  await desk.send(chat('alice@localhost', 'plain client'));
  await alice.next(isBody('plain client'));
  assert.equal(forwarded(await phone.next(isCarbon('sent')), 'sent').getChildText('body'), 'plain client');
});

test('a message marked private is not copied, and the recipient gets it without the marker', async (t) => {
  const { alice, desk, phone } = await setup(t);
  await desk.send(chat('alice@localhost', 'just between us', xml('private', { xmlns: CARBONS })));
  const got = await alice.next(isBody('just between us'));
  assert.equal(got.getChild('private', CARBONS), undefined);
  await alice.send(chat('bob@localhost', 'private answer', xml('private', { xmlns: CARBONS })));
  await desk.next(isBody('private answer'));
  await phone.nothing(anyCarbon);
});

test('a message with the no-copy hint is not copied', async (t) => {
  const { alice, desk, phone } = await setup(t);
  await alice.send(chat('bob@localhost', 'no copies please', xml('no-copy', { xmlns: 'urn:xmpp:hints' })));
  await desk.next(isBody('no copies please'));
  await phone.nothing(anyCarbon);
});

test('a device that did not enable carbons, or disabled them, gets no copies', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const desk = await s.connect('bob', { resource: 'desk', priority: 10 });
  const phone = await s.connect('bob', { resource: 'phone', priority: 1 });
  await alice.send(chat('bob@localhost', 'before'));
  await desk.next(isBody('before'));
  await phone.nothing(anyCarbon);
  await enableCarbons(phone);
  // Section 9.1: enabling twice is not an error.
  await enableCarbons(phone);
  const r = await phone.iq(xml('iq', { type: 'set' }, xml('disable', { xmlns: CARBONS })));
  assert.equal(r.attrs.type, 'result');
  await alice.send(chat('bob@localhost', 'after'));
  await desk.next(isBody('after'));
  await phone.nothing(anyCarbon);
});

test('headlines are not copied', async (t) => {
  const { alice, desk, phone } = await setup(t);
  await alice.send(xml('message', { to: 'bob@localhost', type: 'headline' }, xml('body', {}, 'news')));
  await desk.next(isBody('news'));
  await phone.next(isBody('news')); // headlines go to every resource (RFC 6121 8.5.2.1.1)
  await phone.nothing(anyCarbon);
  await desk.nothing(anyCarbon);
});
