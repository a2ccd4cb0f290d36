import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import type { TestClient } from '../../test/kit/client.js';
import { startServer } from '../../test/kit/server.js';
import {
  DIRECTORY_TEST_NS, directoryHelperModules, openldapDirectoryConfig, slapdSkip, startSlapd, type Slapd,
} from '../../test/kit/slapd.js';

// Shared rosters from directory groups: Sales (alice, bob, grace; erin is disabled) and
// Engineering (carol, dave, frank, ivan.ivanov) are configured as shared groups.

const skip = slapdSkip;
let slapd: Slapd;
before(async () => { if (!skip) slapd = await startSlapd(); });
after(async () => { await slapd?.destroy(); });

const helpers = directoryHelperModules();
const ROSTER = 'jabber:iq:roster';
const SALES = 'cn=Sales,ou=groups,dc=example,dc=com';
const person = (uid: string) => `uid=${uid},ou=people,dc=example,dc=com`;

async function server(t: Parameters<typeof startServer>[0]) {
  return startServer(t, {
    config: { module_paths: [helpers] },
    modules: { disco: {}, ping: {}, message: {}, roster: {}, presence: {}, directory: openldapDirectoryConfig(slapd), 'directory-test': {} },
  });
}

async function roster(c: TestClient): Promise<Element[]> {
  const r = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
  return r.getChild('query', ROSTER)!.getChildren('item');
}

async function syncNow(c: TestClient): Promise<void> {
  const r = await c.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('sync', { xmlns: DIRECTORY_TEST_NS })));
  assert.equal(r.attrs.type, 'result', String(r));
}

const isPresence = (from: string, type = 'available') => (el: Element) =>
  el.name === 'presence' && el.attrs.from?.split('/')[0] === from && (el.attrs.type ?? 'available') === type;
const isPush = (jid: string) => (el: Element) =>
  el.name === 'iq' && el.attrs.type === 'set' && el.getChild('query', ROSTER)?.getChild('item')?.attrs.jid === jid;
const groupsOf = (item: Element) => item.getChildren('group').map((g) => g.getText());

test('department colleagues appear in the roster with their department, without subscriptions', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  const items = await roster(alice);
  assert.deepEqual(items.map((i) => i.attrs.jid).sort(), ['bob@localhost', 'grace@localhost']);
  const bob = items.find((i) => i.attrs.jid === 'bob@localhost')!;
  assert.equal(bob.attrs.name, 'Bob Berg');
  assert.equal(bob.attrs.subscription, 'both');
  assert.equal(bob.attrs.ask, undefined);
  assert.deepEqual(groupsOf(bob), ['Sales']);
});

test('presence flows between department colleagues without a subscription', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice', { resource: 'desk' });
  const bob = await s.connect('bob', { resource: 'phone' });
  // Bob's initial presence reaches alice; bob learns alice's presence at login (probe answered).
  await alice.next(isPresence('bob@localhost'));
  await bob.next(isPresence('alice@localhost'));
  // Nobody in another department sees it.
  const dave = await s.connect('dave');
  await bob.send(xml('presence', {}, xml('show', {}, 'away')));
  await alice.next((el) => isPresence('bob@localhost')(el) && el.getChildText('show') === 'away');
  await dave.nothing(isPresence('bob@localhost'), 300);
});

test('a person added to a department group appears in colleagues\' rosters at the next sync', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  await roster(alice);
  const carol = await s.connect('carol');
  await roster(carol);
  await slapd.changeValues(SALES, 'add', 'member', [person('carol')]);
  t.after(() => slapd.changeValues(SALES, 'delete', 'member', [person('carol')]));
  await syncNow(alice);
  const push = await alice.next(isPush('carol@localhost'));
  const item = push.getChild('query', ROSTER)!.getChild('item')!;
  assert.equal(item.attrs.subscription, 'both');
  assert.equal(item.attrs.name, 'Carol Chen');
  assert.deepEqual(groupsOf(item), ['Sales']);
  assert.ok(push.getChild('query', ROSTER)!.attrs.ver, 'the push carries the new roster version');
  // Presence starts flowing both ways at once.
  await alice.next(isPresence('carol@localhost'));
  await carol.next(isPresence('alice@localhost'));
  // Carol is in Engineering and now in Sales: her push for alice names Sales only (alice is not in Engineering).
  const carolsPush = await carol.next(isPush('alice@localhost'));
  assert.deepEqual(groupsOf(carolsPush.getChild('query', ROSTER)!.getChild('item')!), ['Sales']);
});

test('a person taken out of a department group disappears from colleagues\' rosters at the next sync', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  await roster(alice);
  const grace = await s.connect('grace', { resource: 'tablet' });
  await alice.next(isPresence('grace@localhost'));
  await slapd.changeValues(SALES, 'delete', 'member', [person('grace')]);
  t.after(() => slapd.changeValues(SALES, 'add', 'member', [person('grace')]));
  await syncNow(alice);
  const push = await alice.next(isPush('grace@localhost'));
  assert.equal(push.getChild('query', ROSTER)!.getChild('item')!.attrs.subscription, 'remove');
  // What alice saw of grace's presence ends.
  await alice.next(isPresence('grace@localhost', 'unavailable'));
  assert.deepEqual((await roster(alice)).map((i) => i.attrs.jid), ['bob@localhost']);
  await grace.stop();
});

test('a department colleague cannot be removed from the roster', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  const r = await alice.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: ROSTER }, xml('item', { jid: 'bob@localhost', subscription: 'remove' }))));
  assert.equal(r.attrs.type, 'error');
  assert.ok(r.getChild('error')?.getChild('not-allowed'));
  assert.match(r.getChild('error')!.getChildText('text') ?? '', /shared group "Sales"/);
});

test('cancelling the presence of a department colleague is refused', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  await alice.send(xml('presence', { to: 'bob@localhost', type: 'unsubscribed', id: 'u1' }));
  const error = await alice.next((el) => el.name === 'presence' && el.attrs.type === 'error');
  assert.equal(error.attrs.id, 'u1');
  assert.ok(error.getChild('error')?.getChild('not-allowed'));
});

test('a personal name and group for a department colleague are shown beside the shared group', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  await roster(alice);
  await alice.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: ROSTER }, xml('item', { jid: 'bob@localhost', name: 'Bobby' }, xml('group', {}, 'Lunch')))));
  const push = await alice.next(isPush('bob@localhost'));
  const item = push.getChild('query', ROSTER)!.getChild('item')!;
  assert.equal(item.attrs.name, 'Bobby');
  assert.equal(item.attrs.subscription, 'both');
  assert.deepEqual(groupsOf(item), ['Lunch', 'Sales']);
});
