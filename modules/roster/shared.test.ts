import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import { writeModule } from '../../test/kit/modules.js';
import { startServer } from '../../test/kit/server.js';

// Shared group sources (RosterService.addSharedGroupSource) with a stand-in source: a module whose
// one group, "Team", holds the members an IQ sets. The directory module is the real source.

const ROSTER = 'jabber:iq:roster';
const NS = 'urn:parley:test:shared';

const teamSource = writeModule('team-source', `
import { defineModule, Jid } from 'API';
export default defineModule({
  name: 'team-source',
  requires: ['roster'],
  setup(ctx) {
    let members = new Set();
    const source = {
      name: 'the team list',
      contactsOf: (owner) => members.has(owner.local)
        ? [...members].filter((m) => m !== owner.local).map((m) => ({ jid: m + '@' + owner.domain, name: m.toUpperCase(), groups: ['Team'] }))
        : [],
      contactOf: (owner, contact) => members.has(owner.local) && members.has(contact.local) && owner.local !== contact.local
        ? { jid: contact.bare, name: contact.local.toUpperCase(), groups: ['Team'] } : undefined,
    };
    const handle = ctx.services.use('roster').addSharedGroupSource(source);
    ctx.iq.handle({ type: 'set', xmlns: '${NS}', name: 'team', to: 'server' }, async (iq) => {
      const next = new Set(iq.payload.getChildren('member').map((m) => m.getText()));
      const everyone = new Set([...members, ...next]);
      const pairs = [];
      for (const a of everyone) for (const b of everyone) if (a !== b) pairs.push({ owner: Jid.of(a, 'localhost'), contact: Jid.of(b, 'localhost') });
      await handle.update(pairs, () => { members = next; });
    });
  },
});
`);

async function server(t: Parameters<typeof startServer>[0]) {
  const s = await startServer(t, { config: { module_paths: [teamSource] }, modules: { disco: {}, message: {}, roster: {}, presence: {}, 'team-source': {} } });
  for (const u of ['alice', 'bob', 'carol']) await s.createUser(u);
  return s;
}

const team = (...members: string[]) => xml('iq', { type: 'set', to: 'localhost' }, xml('team', { xmlns: NS }, ...members.map((m) => xml('member', {}, m))));
const pushFor = (jid: string) => (el: Element) => el.name === 'iq' && el.attrs.type === 'set' && el.getChild('query', ROSTER)?.getChild('item')?.attrs.jid === jid;

test("a shared group's contacts are roster items with subscription both and the group, pushed when it changes", async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  const before = await alice.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER, ver: '' })));
  const ver = before.getChild('query', ROSTER)!.attrs.ver;
  await alice.iq(team('alice', 'bob'));
  const push = await alice.next(pushFor('bob@localhost'));
  const item = push.getChild('query', ROSTER)!.getChild('item')!;
  assert.deepEqual([item.attrs.subscription, item.attrs.name, item.getChildText('group')], ['both', 'BOB', 'Team']);
  assert.notEqual(push.getChild('query', ROSTER)!.attrs.ver, ver);
  const after = await alice.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
  assert.deepEqual(after.getChild('query', ROSTER)!.getChildren('item').map((i) => i.attrs.jid), ['bob@localhost']);
  await alice.iq(team('alice'));
  const removal = await alice.next(pushFor('bob@localhost'));
  assert.equal(removal.getChild('query', ROSTER)!.getChild('item')!.attrs.subscription, 'remove');
});

test('presence flows between shared contacts as soon as they share a group, and stops when they no longer do', async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  const bob = await s.connect('bob');
  await alice.iq(team('alice', 'bob'));
  await alice.next((el) => el.name === 'presence' && el.attrs.from === bob.jid && el.attrs.type === undefined);
  await bob.next((el) => el.name === 'presence' && el.attrs.from === alice.jid && el.attrs.type === undefined);
  await alice.iq(team('alice', 'carol'));
  await alice.next((el) => el.name === 'presence' && el.attrs.from === bob.jid && el.attrs.type === 'unavailable');
  await bob.next((el) => el.name === 'presence' && el.attrs.from === alice.jid && el.attrs.type === 'unavailable');
});

test('a shared contact cannot be removed, but the roster version of an offline member still changes', async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  const first = await alice.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER, ver: '' })));
  const ver = first.getChild('query', ROSTER)!.attrs.ver!;
  await alice.stop();
  const bob = await s.connect('bob');
  await bob.iq(team('alice', 'bob'));
  const refused = await bob.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: ROSTER }, xml('item', { jid: 'alice@localhost', subscription: 'remove' }))));
  assert.ok(refused.getChild('error')?.getChild('not-allowed'));
  const again = await s.connect('alice');
  const r = await again.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER, ver })));
  assert.deepEqual(r.getChild('query', ROSTER)!.getChildren('item').map((i) => i.attrs.jid), ['bob@localhost'], 'a stale version gets the whole roster');
});
