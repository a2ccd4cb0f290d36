import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/xml';
import { RawClient } from '../../test/kit/raw.js';
import { startServer } from '../../test/kit/server.js';
import { adDirectoryConfig, slapdSkip, startSlapd, type Slapd } from '../../test/kit/slapd.js';

// The Active Directory attribute mapping (test/fixtures/ldap/ad-layout.ldif, ad.schema): logins by
// sAMAccountName over ldap:// with StartTLS, objectGUID as the entry id, userAccountControl bit 2
// for disabled accounts, groups from memberOf, department/company/thumbnailPhoto in vCards.

const skip = slapdSkip;
let slapd: Slapd;
before(async () => { if (!skip) slapd = await startSlapd(); });
after(async () => { await slapd?.destroy(); });

async function server(t: Parameters<typeof startServer>[0]) {
  return startServer(t, { modules: { disco: {}, message: {}, roster: {}, presence: {}, vcard: {}, directory: adDirectoryConfig(slapd) } });
}

test('an Active Directory user logs in with the sAMAccountName over StartTLS', { skip }, async (t) => {
  const s = await server(t);
  const mallory = await s.connect('mmiller', { password: 'mallory-secret', resource: 'pc' });
  assert.equal(mallory.jid, 'mmiller@localhost/pc');
});

test('an account disabled with userAccountControl is refused', { skip }, async (t) => {
  const s = await server(t);
  const c = await RawClient.connect(s.ports.c2s);
  t.after(() => c.destroy());
  c.openStream();
  await c.waitFor(/<starttls/);
  await c.startTls();
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  c.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from('\0nnovak\0nina-secret').toString('base64')}</auth>`);
  await c.waitFor(/<account-disabled\/>/);
});

test('memberOf groups become shared rosters', { skip }, async (t) => {
  const s = await server(t);
  const mallory = await s.connect('mmiller', { password: 'mallory-secret' });
  const r = await mallory.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  const items = r.getChild('query')!.getChildren('item');
  // Nina is in Support too, but disabled.
  assert.deepEqual(items.map((i) => [i.attrs.jid, i.attrs.name, i.attrs.subscription, i.getChildText('group')]),
    [['oortiz@localhost', 'Oscar Ortiz', 'both', 'Support']]);
  const oscar = await s.connect('oortiz', { password: 'oscar-secret' });
  await mallory.next((el) => el.name === 'presence' && el.attrs.from === oscar.jid);
});

test('the vCard of an Active Directory user shows department, company and thumbnailPhoto', { skip }, async (t) => {
  const s = await server(t);
  const oscar = await s.connect('oortiz', { password: 'oscar-secret' });
  const r = await oscar.iq(xml('iq', { type: 'get', to: 'mmiller@localhost' }, xml('vCard', { xmlns: 'vcard-temp' })));
  const card = r.getChild('vCard', 'vcard-temp')!;
  assert.equal(card.getChildText('FN'), 'Mallory Miller');
  assert.equal(card.getChild('ORG')?.getChildText('ORGNAME'), 'Example Corp');
  assert.equal(card.getChild('ORG')?.getChildText('ORGUNIT'), 'Support');
  assert.equal(card.getChild('EMAIL')?.getChildText('USERID'), 'mallory.miller@example.com');
  assert.equal(card.getChild('PHOTO')?.getChildText('TYPE'), 'image/jpeg');
});
