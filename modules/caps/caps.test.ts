import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { xml, type Element } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import { RawClient } from '../../test/kit/raw.js';
import type { TestClient } from '../../test/kit/client.js';

const CAPS = 'http://jabber.org/protocol/caps';
const DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const MODULES = {
  modules: {
    disco: {}, ping: {}, message: {}, caps: {}, carbons: {},
    'contact-info': { abuse: ['mailto:abuse@localhost'], admin: ['xmpp:admin@localhost', 'mailto:admin@localhost'] },
  },
};

/**
 * XEP-0115 section 5.1, written out again here so the test does not trust the module's own code:
 * identities, features, then forms by FORM_TYPE with their fields by name, each followed by '<'.
 */
function ver(query: Element): string {
  const identities = query.getChildren('identity')
    .map((i) => `${i.attrs.category}/${i.attrs.type}/${i.attrs['xml:lang'] ?? ''}/${i.attrs.name ?? ''}`).sort();
  const features = query.getChildren('feature').map((f) => f.attrs.var as string).sort();
  let s = [...identities, ...features].map((x) => `${x}<`).join('');
  const forms = query.getChildren('x', 'jabber:x:data').map((x) => {
    const fields = x.getChildren('field');
    const formType = fields.find((f) => f.attrs.var === 'FORM_TYPE')!.getChildText('value')!;
    const rest = fields.filter((f) => f.attrs.var !== 'FORM_TYPE')
      .sort((a, b) => ((a.attrs.var ?? '') < (b.attrs.var ?? '') ? -1 : 1))
      .map((f) => `${f.attrs.var}<${f.getChildren('value').map((v) => v.getText()).sort().map((v) => `${v}<`).join('')}`);
    return { formType, text: `${formType}<${rest.join('')}` };
  }).sort((a, b) => (a.formType < b.formType ? -1 : 1));
  s += forms.map((f) => f.text).join('');
  return crypto.createHash('sha1').update(s, 'utf8').digest('base64');
}

const discoInfo = (c: TestClient, node?: string) =>
  c.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: DISCO_INFO, node })));

test('the caps in the stream features match the hash of the server\'s disco#info', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  const raw = await RawClient.authenticated(s.ports.c2s, 'alice', 'alice-secret');
  t.after(() => raw.destroy());
  const m = raw.received.match(/<c xmlns="http:\/\/jabber.org\/protocol\/caps" hash="sha-1" node="([^"]+)" ver="([^"]+)"\/>/);
  assert.ok(m, `no caps in ${raw.received}`);
  const alice = await s.connect('alice');
  const info = (await discoInfo(alice)).getChild('query', DISCO_INFO)!;
  // The contact-info form is part of what is hashed (section 5.1 step 4).
  assert.ok(info.getChild('x', 'jabber:x:data'));
  assert.equal(m[2], ver(info));
  assert.ok(info.getChildren('feature').some((f) => f.attrs.var === CAPS));
});

test('disco#info of the caps node answers what disco#info of the server does', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const plain = (await discoInfo(alice)).getChild('query', DISCO_INFO)!;
  const node = `urn:x-parley:server#${ver(plain)}`;
  const answer = await discoInfo(alice, node);
  assert.equal(answer.attrs.type, 'result', answer.toString());
  const query = answer.getChild('query', DISCO_INFO)!;
  assert.equal(query.attrs.node, node);
  assert.equal(ver(query), ver(plain));
  // A verification string that is not the current one is not a node the server knows.
  assert.equal((await discoInfo(alice, 'urn:x-parley:server#stale')).attrs.type, 'error');
});

test('the verification string follows the modules that are loaded', async (t) => {
  const small = await startServer(t, { modules: { disco: {}, caps: {} } });
  const big = await startServer(t, MODULES);
  await small.createUser('alice');
  await big.createUser('alice');
  const a = await RawClient.authenticated(small.ports.c2s, 'alice', 'alice-secret');
  const b = await RawClient.authenticated(big.ports.c2s, 'alice', 'alice-secret');
  t.after(() => { a.destroy(); b.destroy(); });
  const verOf = (raw: RawClient) => raw.received.match(/ver="([^"]+)"/)![1];
  assert.notEqual(verOf(a), verOf(b));
});

test('a client\'s caps are asked for once per verification string', async (t) => {
  const s = await startServer(t, MODULES);
  await s.createUser('alice');
  await s.createUser('bob');
  const features = [DISCO_INFO, 'urn:xmpp:avatar:metadata+notify'];
  const query = xml('query', { xmlns: DISCO_INFO }, xml('identity', { category: 'client', type: 'pc', name: 'Test' }),
    ...features.map((f) => xml('feature', { var: f })));
  const v = ver(query);
  const answerDisco = (c: TestClient) => c.xmpp.iqCallee.get(DISCO_INFO, 'query', (ctx: unknown) => {
    const q = xml('query', { xmlns: DISCO_INFO, node: (ctx as { element: Element }).element.attrs.node });
    for (const child of query.getChildElements()) q.append(child);
    return q;
  });
  const isCapsQuery = (el: Element) => el.name === 'iq' && el.attrs.type === 'get' && el.getChild('query', DISCO_INFO)?.attrs.node === `https://example.org/test#${v}`;
  const caps = xml('c', { xmlns: CAPS, hash: 'sha-1', node: 'https://example.org/test', ver: v });

  const alice = await s.connect('alice', { presence: false });
  answerDisco(alice);
  await alice.send(xml('presence', {}, caps));
  await alice.next(isCapsQuery);

  const bob = await s.connect('bob', { presence: false });
  answerDisco(bob);
  await bob.send(xml('presence', {}, xml('c', { ...caps.attrs })));
  await bob.nothing(isCapsQuery);
});
