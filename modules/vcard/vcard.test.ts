import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { xml, type Element } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import { Jid } from '../../server/xml/jid.js';
import type { TestClient } from '../../test/kit/client.js';
import { photoHash, withAvatarHash } from './photo.js';

const VCARD = 'vcard-temp';
const UPDATE = 'vcard-temp:x:update';
const IMAGE = Buffer.from(Array.from({ length: 120 }, (_, i) => (i * 37) % 256));
const IMAGE_HASH = createHash('sha1').update(IMAGE).digest('hex');
const DIRECTORY_IMAGE = Buffer.from('a photo from the directory');
const DIRECTORY_IMAGE_HASH = createHash('sha1').update(DIRECTORY_IMAGE).digest('hex');
const MODULES = { disco: {}, message: {}, vcard: {} };

/** Base64 in 76-character lines, as RFC 2045 clients send it. */
function base64Lines(bytes: Buffer): string {
  return `\n${bytes.toString('base64').replace(/.{1,76}/g, '$&\n')}`;
}

function photo(bytes: Buffer): Element {
  return xml('PHOTO', {}, xml('TYPE', {}, 'image/png'), xml('BINVAL', {}, base64Lines(bytes)));
}

function setVCard(client: TestClient, ...fields: Element[]): Promise<Element> {
  return client.iq(xml('iq', { type: 'set' }, xml('vCard', { xmlns: VCARD }, ...fields)));
}

function getVCard(client: TestClient, to?: string): Promise<Element> {
  return client.iq(xml('iq', { type: 'get', to }, xml('vCard', { xmlns: VCARD })));
}

function errorCondition(reply: Element): string | undefined {
  return reply.getChild('error')?.getChildElements()[0]?.name;
}

function avatarHashOf(presence: Element): string | undefined {
  const updates = presence.getChildren('x', UPDATE);
  assert.equal(updates.length, 1, `one vcard-temp:x:update in ${presence.toString()}`);
  return updates[0]!.getChild('photo')?.getText();
}

/**
 * Two third-party modules, loaded from a folder through `module_paths` as an administrator would:
 * a directory that supplies vCards through the vcard service, and a stand-in for the presence
 * module that relays broadcast presence to the user's other resources and directed presence to
 * its addressee (the real presence module is not part of this change).
 */
function writeFixtureModules(t: TestContext): string {
  const api = new URL('../../server/api/index.js', import.meta.url).href;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-vcard-fixtures-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, source: string) => {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'index.js'), source);
  };
  write('test-directory-vcards', `
import { xml } from ${JSON.stringify(api)};
const cards = {
  'carol@localhost': () => xml('vCard', { xmlns: 'vcard-temp' },
    xml('FN', {}, 'Carol Directory'),
    xml('EMAIL', {}, xml('INTERNET'), xml('USERID', {}, 'carol@corp.example')),
    xml('TITLE', {}, 'Engineer'),
    xml('PHOTO', {}, xml('TYPE', {}, 'image/png'), xml('BINVAL', {}, ${JSON.stringify(DIRECTORY_IMAGE.toString('base64'))}))),
  'dave@localhost': () => xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, 'Dave Directory')),
};
export default {
  name: 'test-directory-vcards',
  requires: ['vcard'],
  setup(ctx) {
    ctx.auth.addProvider({ name: 'test-directory', exists: (local, domain) => local === 'dave' && domain === 'localhost' });
    ctx.services.use('vcard').addSource({
      name: 'the test directory',
      readOnlyFields: ['FN', 'EMAIL', 'PHOTO'],
      fetch: async (bare) => cards[bare]?.() ?? null,
    });
  },
};
`);
  write('test-presence-relay', `
export default {
  name: 'test-presence-relay',
  setup(ctx) {
    ctx.hooks.on('presence/broadcast', (event) => {
      for (const s of ctx.sessions.availableOf(event.from.bare)) if (s !== event.origin) ctx.router.deliver(s, event.stanza);
      return { kind: 'handled' };
    });
    ctx.hooks.on('presence/full', (event) => {
      ctx.sessions.byFullJid(event.to)?.deliver(event.stanza);
      return { kind: 'handled' };
    });
  },
};
`);
  return dir;
}

// ---- unit tests --------------------------------------------------------------------------------

test('the avatar hash is the SHA-1 of the decoded image, whitespace in the base64 ignored', () => {
  assert.equal(photoHash(xml('vCard', { xmlns: VCARD }, photo(IMAGE))), IMAGE_HASH);
  assert.equal(photoHash(xml('vCard', { xmlns: VCARD }, xml('FN', {}, 'No Photo'))), '');
  assert.equal(photoHash(xml('vCard', { xmlns: VCARD }, xml('PHOTO', {}, xml('EXTVAL', {}, 'https://example.com/a.png')))), '');
});

test("a presence gets exactly one update element with the server's hash", () => {
  const fromClient = xml('presence', {}, xml('show', {}, 'away'), xml('x', { xmlns: UPDATE }, xml('photo', {}, 'client-claims-this')));
  const stamped = withAvatarHash(fromClient, IMAGE_HASH)!;
  assert.equal(avatarHashOf(stamped), IMAGE_HASH);
  assert.equal(stamped.getChildText('show'), 'away');
  assert.equal(avatarHashOf(fromClient), 'client-claims-this', 'the original is left alone');
  assert.equal(withAvatarHash(stamped, IMAGE_HASH), null, 'nothing to change, nothing copied');
  assert.equal(withAvatarHash(xml('presence'), '')!.getChild('x', UPDATE)!.toString(), '<x xmlns="vcard-temp:x:update"><photo/></x>');
});

// ---- XEP-0054 ----------------------------------------------------------------------------------

test('a user stores a vCard and reads it back', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const set = await setVCard(alice, xml('FN', {}, 'Alice Liddell'), xml('NICKNAME', {}, 'alice'));
  assert.equal(set.attrs.type, 'result');
  const got = await getVCard(alice);
  assert.equal(got.attrs.type, 'result');
  const card = got.getChild('vCard', VCARD)!;
  assert.equal(card.getChildText('FN'), 'Alice Liddell');
  assert.equal(card.getChildText('NICKNAME'), 'alice');
});

test('a user who never stored a vCard reads an empty one', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const got = await getVCard(alice, 'alice@localhost');
  assert.equal(got.attrs.type, 'result');
  assert.equal(got.getChild('vCard', VCARD)!.children.length, 0);
});

test("another user's vCard is answered by the server on their behalf", async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  await setVCard(alice, xml('FN', {}, 'Alice Liddell'));
  await alice.stop();
  const bob = await s.connect('bob');
  const got = await getVCard(bob, 'alice@localhost');
  assert.equal(got.attrs.type, 'result');
  assert.equal(got.attrs.from, 'alice@localhost');
  assert.equal(got.getChild('vCard', VCARD)!.getChildText('FN'), 'Alice Liddell');
});

test('a user without a vCard and a user who does not exist get the same service-unavailable error', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const bob = await s.connect('bob');
  assert.equal(errorCondition(await getVCard(bob, 'alice@localhost')), 'service-unavailable');
  assert.equal(errorCondition(await getVCard(bob, 'nobody@localhost')), 'service-unavailable');
});

test("setting another user's vCard is forbidden and changes nothing", async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  await s.createUser('bob');
  const bob = await s.connect('bob');
  const reply = await bob.iq(xml('iq', { type: 'set', to: 'alice@localhost' }, xml('vCard', { xmlns: VCARD }, xml('FN', {}, 'Not Alice'))));
  assert.equal(reply.attrs.type, 'error');
  assert.equal(errorCondition(reply), 'forbidden');
  assert.equal(errorCondition(await getVCard(bob, 'alice@localhost')), 'service-unavailable');
});

test('a vCard larger than max_bytes is refused with not-acceptable and a reason', async (t) => {
  const s = await startServer(t, { modules: { ...MODULES, vcard: { max_bytes: 2000 } } });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const reply = await setVCard(alice, xml('DESC', {}, 'x'.repeat(3000)));
  assert.equal(errorCondition(reply), 'not-acceptable');
  assert.match(reply.getChild('error')!.getChildText('text') ?? '', /at most 2000/);
  assert.equal((await getVCard(alice)).getChild('vCard', VCARD)!.children.length, 0);
});

test('a photo that is not base64 is refused with bad-request', async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const reply = await setVCard(alice, xml('PHOTO', {}, xml('TYPE', {}, 'image/png'), xml('BINVAL', {}, 'not*base64!')));
  assert.equal(errorCondition(reply), 'bad-request');
});

test('a vCard survives a restart and goes when its account is deleted', async (t) => {
  const first = await startServer(t, { modules: MODULES });
  await first.createUser('alice');
  const alice = await first.connect('alice');
  await setVCard(alice, xml('FN', {}, 'Alice Liddell'));
  await first.stop();

  const second = await startServer(t, { modules: MODULES, dataDir: first.dataDir });
  const again = await second.connect('alice');
  assert.equal((await getVCard(again)).getChild('vCard', VCARD)!.getChildText('FN'), 'Alice Liddell');
  await second.server.deleteAccount(Jid.parse('alice@localhost'));
  // Whoever gets the address next starts with no vCard.
  await second.createUser('alice');
  const next = await second.connect('alice', { resource: 'new' });
  assert.equal((await getVCard(next)).getChild('vCard', VCARD)!.children.length, 0);
});

// ---- XEP-0153 ----------------------------------------------------------------------------------

test("a new avatar is announced to the user's other resource with its hash", async (t) => {
  const s = await startServer(t, { modules: MODULES });
  await s.createUser('alice');
  const phone = await s.connect('alice', { resource: 'phone' });
  const laptop = await s.connect('alice', { resource: 'laptop' });
  await getVCard(laptop); // answered: the server has handled the laptop's initial presence
  assert.equal((await setVCard(phone, xml('FN', {}, 'Alice'), photo(IMAGE))).attrs.type, 'result');
  const presence = await laptop.next((el) => el.name === 'presence' && el.attrs.from === phone.jid);
  assert.equal(avatarHashOf(presence), IMAGE_HASH);
  // Removing the photo is announced as an empty <photo/>.
  await setVCard(phone, xml('FN', {}, 'Alice'));
  const cleared = await laptop.next((el) => el.name === 'presence' && el.attrs.from === phone.jid);
  assert.equal(avatarHashOf(cleared), '');
});

test("broadcast presence carries the server's avatar hash, not the one the client claims", async (t) => {
  const s = await startServer(t, { modules: { ...MODULES, 'test-presence-relay': {} }, config: { module_paths: [writeFixtureModules(t)] } });
  await s.createUser('alice');
  const phone = await s.connect('alice', { resource: 'phone' });
  await setVCard(phone, photo(IMAGE));
  const laptop = await s.connect('alice', { resource: 'laptop' });
  await getVCard(laptop); // answered: the server has handled the laptop's initial presence
  await phone.send(xml('presence', {}, xml('status', {}, 'claims another avatar'), xml('x', { xmlns: UPDATE }, xml('photo', {}, 'f'.repeat(40)))));
  const seen = await laptop.next((el) => el.name === 'presence' && el.getChildText('status') === 'claims another avatar');
  assert.equal(avatarHashOf(seen), IMAGE_HASH);
});

test('directed presence of a user without an avatar carries an empty photo', async (t) => {
  const s = await startServer(t, { modules: { ...MODULES, 'test-presence-relay': {} }, config: { module_paths: [writeFixtureModules(t)] } });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const bob = await s.connect('bob');
  await alice.send(xml('presence', { to: bob.jid }));
  const seen = await bob.next((el) => el.name === 'presence' && el.attrs.from === alice.jid);
  assert.equal(avatarHashOf(seen), '');
});

// ---- directory sources (the vcard service) -----------------------------------------------------

function withDirectory(t: TestContext, extra: Record<string, unknown> = {}) {
  return { modules: { ...MODULES, 'test-directory-vcards': {}, ...extra }, config: { module_paths: [writeFixtureModules(t)] } };
}

test("a directory's fields are merged with what the user stored and served to others", async (t) => {
  const s = await startServer(t, withDirectory(t));
  await s.createUser('carol');
  await s.createUser('bob');
  const carol = await s.connect('carol');
  const bob = await s.connect('bob');
  const before = (await getVCard(bob, 'carol@localhost')).getChild('vCard', VCARD)!;
  assert.equal(before.getChildText('FN'), 'Carol Directory');
  assert.equal(before.getChildText('TITLE'), 'Engineer');

  // A client re-uploads the vCard it downloaded with its own changes: accepted.
  const own = (await getVCard(carol)).getChild('vCard', VCARD)!;
  own.getChild('TITLE')!.children = ['Lead Engineer'];
  own.append(xml('NICKNAME', {}, 'cc'));
  assert.equal((await carol.iq(xml('iq', { type: 'set' }, own))).attrs.type, 'result');

  const after = (await getVCard(bob, 'carol@localhost')).getChild('vCard', VCARD)!;
  assert.equal(after.getChildText('FN'), 'Carol Directory');
  assert.equal(after.getChild('EMAIL')!.getChildText('USERID'), 'carol@corp.example');
  assert.equal(after.getChildText('NICKNAME'), 'cc');
  assert.equal(after.getChildText('TITLE'), 'Lead Engineer', 'a field the directory does not own is the user\'s to change');
  assert.equal(after.getChildren('TITLE').length, 1);
});

test('a user cannot change a field the directory manages', async (t) => {
  const s = await startServer(t, withDirectory(t));
  await s.createUser('carol');
  const carol = await s.connect('carol');
  const reply = await setVCard(carol, xml('FN', {}, 'Carol Renamed'), xml('NICKNAME', {}, 'cc'));
  assert.equal(errorCondition(reply), 'not-allowed');
  assert.match(reply.getChild('error')!.getChildText('text') ?? '', /FN is managed by the test directory/);
  const card = (await getVCard(carol)).getChild('vCard', VCARD)!;
  assert.equal(card.getChildText('FN'), 'Carol Directory');
  assert.equal(card.getChild('NICKNAME'), undefined, 'a refused update stores nothing');
});

test('a user known only to the directory has a vCard', async (t) => {
  const s = await startServer(t, withDirectory(t));
  await s.createUser('bob');
  const bob = await s.connect('bob');
  const got = await getVCard(bob, 'dave@localhost');
  assert.equal(got.attrs.type, 'result');
  assert.equal(got.getChild('vCard', VCARD)!.getChildText('FN'), 'Dave Directory');
});

test("the directory's photo is the user's avatar", async (t) => {
  const s = await startServer(t, withDirectory(t, { 'test-presence-relay': {} }));
  await s.createUser('carol');
  await s.createUser('bob');
  const carol = await s.connect('carol');
  const bob = await s.connect('bob');
  await carol.send(xml('presence', { to: bob.jid }));
  const seen = await bob.next((el) => el.name === 'presence' && el.attrs.from === carol.jid);
  assert.equal(avatarHashOf(seen), DIRECTORY_IMAGE_HASH);
});
