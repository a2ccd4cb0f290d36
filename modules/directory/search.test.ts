import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import type { TestClient } from '../../test/kit/client.js';
import { startServer } from '../../test/kit/server.js';
import { directoryHelperModules, openldapDirectoryConfig, slapdSkip, startSlapd, type Slapd } from '../../test/kit/slapd.js';

// XEP-0055 Jabber Search over the directory, answered by the server's domain.

const skip = slapdSkip;
let slapd: Slapd;
before(async () => { if (!skip) slapd = await startSlapd(); });
after(async () => { await slapd?.destroy(); });

const helpers = directoryHelperModules();
const SEARCH = 'jabber:iq:search';
const DATA = 'jabber:x:data';

async function server(t: Parameters<typeof startServer>[0], extra: Record<string, unknown> = {}) {
  return startServer(t, {
    config: { module_paths: [helpers] },
    modules: { disco: {}, message: {}, directory: openldapDirectoryConfig(slapd, extra), 'directory-test': {} },
  });
}

function submit(c: TestClient, fields: Record<string, string>): Promise<Element> {
  return c.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('query', { xmlns: SEARCH },
    xml('x', { xmlns: DATA, type: 'submit' },
      xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, SEARCH)),
      ...Object.entries(fields).map(([name, value]) => xml('field', { var: name }, xml('value', {}, value)))))));
}

/** The rows of a result form as objects. */
function rows(answer: Element): Record<string, string>[] {
  const form = answer.getChild('query', SEARCH)!.getChild('x', DATA)!;
  assert.equal(form.attrs.type, 'result');
  return form.getChildren('item').map((item) => Object.fromEntries(item.getChildren('field').map((f) => [f.attrs.var, f.getChildText('value') ?? ''])));
}

test('the server announces the search and offers a form with name, email and department', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  const info = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  assert.ok(info.getChild('query')!.getChildren('feature').some((f) => f.attrs.var === SEARCH));
  const form = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: SEARCH })));
  const x = form.getChild('query', SEARCH)!.getChild('x', DATA)!;
  assert.equal(x.attrs.type, 'form');
  assert.deepEqual(x.getChildren('field').map((f) => f.attrs.var), ['FORM_TYPE', 'name', 'email', 'department']);
});

test('a search by department finds the colleagues of that department who may use the server', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  const found = rows(await submit(alice, { department: 'engineering' }));
  // heidi is in Engineering but not in the staff group: she has no address, so she is not found.
  assert.deepEqual(found.map((r) => r.jid), ['carol@localhost', 'dave@localhost', 'frank@localhost', 'ivan.ivanov@localhost']);
  const carol = found[0]!;
  assert.equal(carol.name, 'Carol Chen');
  assert.equal(carol.email, 'carol@example.com');
  assert.equal(carol.title, 'Head of Engineering');
});

test('a search by name matches parts of names regardless of case, and every word must match', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  assert.deepEqual(rows(await submit(alice, { name: 'DIR' })).map((r) => r.jid), ['dora@localhost']);
  assert.deepEqual(rows(await submit(alice, { name: 'ca ch' })).map((r) => r.jid), ['carol@localhost']);
  // erin is disabled: never found.
  assert.deepEqual(rows(await submit(alice, { name: 'erin' })), []);
  // Wildcards and filter syntax are just characters here.
  assert.deepEqual(rows(await submit(alice, { name: '*)(uid=*' })), []);
});

test('a search by email with the legacy fields returns items with first, last and nick', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  const answer = await alice.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('query', { xmlns: SEARCH }, xml('email', {}, 'bob@'))));
  const items = answer.getChild('query', SEARCH)!.getChildren('item');
  assert.deepEqual(items.map((i) => [i.attrs.jid, i.getChildText('first'), i.getChildText('last'), i.getChildText('nick')]),
    [['bob@localhost', 'Bob', 'Berg', 'bob']]);
});

test('search results are limited to the configured number', { skip }, async (t) => {
  const s = await server(t, { search: { max_results: 2 } });
  const alice = await s.connect('alice');
  assert.equal(rows(await submit(alice, { email: 'example.com' })).length, 2);
});

test('an empty search is a bad request', { skip }, async (t) => {
  const s = await server(t);
  const alice = await s.connect('alice');
  const answer = await submit(alice, { name: '  ' });
  assert.equal(answer.attrs.type, 'error');
  assert.ok(answer.getChild('error')?.getChild('bad-request'));
});

test('a partner account may not search the company directory', { skip }, async (t) => {
  const s = await server(t);
  await s.createUser('pat');
  const pat = await s.connect('pat');
  assert.equal(s.server.sessions.byFullJid(pat.jid)?.kind, 'partner');
  for (const request of [
    xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: SEARCH })),
    xml('iq', { type: 'set', to: 'localhost' }, xml('query', { xmlns: SEARCH }, xml('nick', {}, 'alice'))),
  ]) {
    const answer = await pat.iq(request);
    assert.equal(answer.attrs.type, 'error');
    assert.ok(answer.getChild('error')?.getChild('forbidden'));
  }
});
