import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import type { TestClient } from '../../test/kit/client.js';

const PRIVATE = 'jabber:iq:private';
const MODULES = { disco: {}, message: {}, private: {} };

function store(client: TestClient, ...children: Element[]): Promise<Element> {
  return client.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: PRIVATE }, ...children)));
}

function fetch(client: TestClient, child: Element, to?: string): Promise<Element> {
  return client.iq(xml('iq', { type: 'get', to }, xml('query', { xmlns: PRIVATE }, child)));
}

function storedChild(reply: Element): Element {
  assert.equal(reply.attrs.type, 'result', reply.toString());
  const children = reply.getChild('query', PRIVATE)!.getChildElements();
  assert.equal(children.length, 1);
  return children[0]!;
}

function errorCondition(reply: Element): string | undefined {
  return reply.getChild('error')?.getChildElements()[0]?.name;
}

const prefs = (nick: string) => xml('exodus', { xmlns: 'exodus:prefs' }, xml('defaultnick', {}, nick));

test('a user stores private XML and reads it back', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('hamlet');
  const hamlet = await s.connect('hamlet');
  assert.equal((await store(hamlet, prefs('Hamlet'))).attrs.type, 'result');
  const got = storedChild(await fetch(hamlet, xml('exodus', { xmlns: 'exodus:prefs' })));
  assert.equal(got.getNS(), 'exodus:prefs');
  assert.equal(got.getChildText('defaultnick'), 'Hamlet');
});

test('an element that was never stored comes back empty', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('hamlet');
  const hamlet = await s.connect('hamlet');
  await store(hamlet, prefs('Hamlet'));
  const got = storedChild(await fetch(hamlet, xml('storage', { xmlns: 'storage:bookmarks' })));
  assert.equal(got.toString(), '<storage xmlns="storage:bookmarks"/>');
});

test('elements with the same namespace but different names are kept apart', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('hamlet');
  const hamlet = await s.connect('hamlet');
  await store(hamlet, xml('a', { xmlns: 'urn:example' }, 'first'), xml('b', { xmlns: 'urn:example' }, 'second'));
  assert.equal(storedChild(await fetch(hamlet, xml('a', { xmlns: 'urn:example' }))).getText(), 'first');
  assert.equal(storedChild(await fetch(hamlet, xml('b', { xmlns: 'urn:example' }))).getText(), 'second');
});

test('a child without a namespace of its own or in a reserved namespace is not acceptable', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('hamlet');
  const hamlet = await s.connect('hamlet');
  assert.equal(errorCondition(await store(hamlet, xml('prefs', {}, 'inherits jabber:iq:private'))), 'not-acceptable');
  assert.equal(errorCondition(await store(hamlet, xml('message', { xmlns: 'jabber:client' }))), 'not-acceptable');
  assert.equal(errorCondition(await store(hamlet, xml('x', { xmlns: 'jabber:server' }))), 'not-acceptable');
  assert.equal(errorCondition(await store(hamlet, xml('query', { xmlns: PRIVATE }))), 'not-acceptable');
  assert.equal(errorCondition(await fetch(hamlet, xml('message', { xmlns: 'jabber:client' }))), 'not-acceptable');
  assert.equal(errorCondition(await store(hamlet)), 'not-acceptable');
});

test("another account's private storage is forbidden, to read and to write", async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('hamlet');
  await s.createUser('macbeth');
  const hamlet = await s.connect('hamlet');
  await store(hamlet, prefs('Hamlet'));
  const macbeth = await s.connect('macbeth');
  const read = await fetch(macbeth, xml('exodus', { xmlns: 'exodus:prefs' }), 'hamlet@localhost');
  assert.equal(errorCondition(read), 'forbidden');
  assert.doesNotMatch(read.toString(), /Hamlet/);
  const write = await macbeth.iq(xml('iq', { type: 'set', to: 'hamlet@localhost' }, xml('query', { xmlns: PRIVATE }, prefs('Macbeth'))));
  assert.equal(errorCondition(write), 'forbidden');
  assert.equal(storedChild(await fetch(hamlet, xml('exodus', { xmlns: 'exodus:prefs' }))).getChildText('defaultnick'), 'Hamlet');
});

test('an element larger than max_item_bytes is not acceptable', async (t) => {
  const s = await startServer(t, { modules: { ...MODULES, private: { max_item_bytes: 2000 } } });
  await s.createUser('hamlet');
  const hamlet = await s.connect('hamlet');
  const reply = await store(hamlet, xml('big', { xmlns: 'urn:example' }, 'x'.repeat(3000)));
  assert.equal(errorCondition(reply), 'not-acceptable');
  assert.match(reply.getChild('error')!.getChildText('text') ?? '', /at most 2000/);
});

test('private XML survives a restart of the server', async (t) => {
  const first = await startServer(t, { modules: MODULES });
  await first.createUser('hamlet');
  const hamlet = await first.connect('hamlet');
  await store(hamlet, prefs('Hamlet'));
  await first.stop();
  const second = await startServer(t, { modules: MODULES, dataDir: first.dataDir });
  const again = await second.connect('hamlet');
  assert.equal(storedChild(await fetch(again, xml('exodus', { xmlns: 'exodus:prefs' }))).getChildText('defaultnick'), 'Hamlet');
});
