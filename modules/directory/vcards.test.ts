import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { xml, type Element } from '@xmpp/xml';
import type { TestClient } from '../../test/kit/client.js';
import { startServer } from '../../test/kit/server.js';
import {
  DIRECTORY_TEST_NS, directoryHelperModules, openldapDirectoryConfig, slapdSkip, startSlapd, type Slapd,
} from '../../test/kit/slapd.js';

// vCards (XEP-0054) and avatar hashes (XEP-0153) of directory people, through the vcard module.

const skip = slapdSkip;
let slapd: Slapd;
before(async () => { if (!skip) slapd = await startSlapd(); });
after(async () => { await slapd?.destroy(); });

const helpers = directoryHelperModules();
const VCARD = 'vcard-temp';
const UPDATE = 'vcard-temp:x:update';
/** alice's jpegPhoto in test/fixtures/ldap/openldap-layout.ldif. */
const ALICE_PHOTO = Buffer.from('/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=', 'base64');
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

async function server(t: Parameters<typeof startServer>[0]) {
  return startServer(t, {
    config: { module_paths: [helpers] },
    modules: { disco: {}, message: {}, roster: {}, presence: {}, vcard: {}, directory: openldapDirectoryConfig(slapd), 'directory-test': {} },
  });
}

const getVCard = (c: TestClient, to?: string) => c.iq(xml('iq', { type: 'get', to }, xml('vCard', { xmlns: VCARD })));
const avatarHash = (presence: Element) => presence.getChild('x', UPDATE)?.getChildText('photo');

test("a directory person's vCard shows the directory's fields and photo", { skip }, async (t) => {
  const s = await server(t);
  const bob = await s.connect('bob');
  const card = (await getVCard(bob, 'alice@localhost')).getChild('vCard', VCARD)!;
  assert.equal(card.getChildText('FN'), 'Alice Andersen');
  assert.equal(card.getChild('N')?.getChildText('GIVEN'), 'Alice');
  assert.equal(card.getChild('N')?.getChildText('FAMILY'), 'Andersen');
  assert.equal(card.getChild('EMAIL')?.getChildText('USERID'), 'alice@example.com');
  assert.equal(card.getChildText('TITLE'), 'Sales Manager');
  assert.equal(card.getChild('ORG')?.getChildText('ORGUNIT'), 'Sales');
  assert.equal(card.getChildText('JABBERID'), 'alice@localhost');
  const phones = card.getChildren('TEL').map((tel) => [tel.getChild('CELL') ? 'cell' : 'work', tel.getChildText('NUMBER')]);
  assert.deepEqual(phones, [['work', '+49 30 1234 200'], ['cell', '+49 170 1234 200']]);
  assert.equal(card.getChild('PHOTO')?.getChildText('TYPE'), 'image/jpeg');
  assert.deepEqual(Buffer.from(card.getChild('PHOTO')!.getChildText('BINVAL')!, 'base64'), ALICE_PHOTO);
});

test('the avatar hash in presence is the SHA-1 of the directory photo', { skip }, async (t) => {
  const s = await server(t);
  const bob = await s.connect('bob');
  await s.connect('alice');
  const presence = await bob.next((el) => el.name === 'presence' && el.attrs.from?.startsWith('alice@localhost/') === true);
  assert.equal(avatarHash(presence), sha1(ALICE_PHOTO));
});

test('a vCard update that changes a directory field is refused and other fields are kept', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  const refused = await alice.iq(xml('iq', { type: 'set' }, xml('vCard', { xmlns: VCARD }, xml('FN', {}, 'Queen Alice'))));
  assert.equal(refused.attrs.type, 'error');
  assert.ok(refused.getChild('error')?.getChild('not-allowed'));
  assert.match(refused.getChild('error')!.getChildText('text') ?? '', /FN is managed by the company directory/);
  const accepted = await alice.iq(xml('iq', { type: 'set' }, xml('vCard', { xmlns: VCARD }, xml('NICKNAME', {}, 'Ali'), xml('URL', {}, 'https://example.com/alice'))));
  assert.equal(accepted.attrs.type, 'result');
  const bob = await s.connect('bob');
  const card = (await getVCard(bob, 'alice@localhost')).getChild('vCard', VCARD)!;
  assert.equal(card.getChildText('NICKNAME'), 'Ali');
  assert.equal(card.getChildText('FN'), 'Alice Andersen');
});

test("a new photo in the directory reaches the person's resources with a new avatar hash at the next sync", { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  const first = await alice.next((el) => el.name === 'presence' && el.attrs.from === alice.jid);
  assert.equal(avatarHash(first), sha1(ALICE_PHOTO));
  // The same JPEG with a comment segment: other bytes, another hash.
  const newPhoto = Buffer.concat([ALICE_PHOTO.subarray(0, 2), Buffer.from([0xff, 0xfe, 0x00, 0x07]), Buffer.from('new!!'), ALICE_PHOTO.subarray(2)]);
  await slapd.modify('uid=alice,ou=people,dc=example,dc=com', { jpegPhoto: newPhoto });
  t.after(() => slapd.modify('uid=alice,ou=people,dc=example,dc=com', { jpegPhoto: ALICE_PHOTO }));
  await alice.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('sync', { xmlns: DIRECTORY_TEST_NS })));
  const again = await alice.next((el) => el.name === 'presence' && el.attrs.from === alice.jid && avatarHash(el) === sha1(newPhoto));
  assert.ok(again);
});
