import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';

const DISCO_INFO = 'http://jabber.org/protocol/disco#info';

test('the server\'s disco#info carries the configured contact addresses in a serverinfo form', async (t) => {
  const s = await startServer(t, {
    modules: {
      disco: {}, 'contact-info': {
        abuse: ['mailto:abuse@localhost'],
        security: ['mailto:security@localhost', 'xmpp:security@localhost'],
        support: ['https://localhost/support'],
      },
    },
  });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const info = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: DISCO_INFO })));
  const form = info.getChild('query', DISCO_INFO)!.getChild('x', 'jabber:x:data')!;
  assert.equal(form.attrs.type, 'result');
  const fields = new Map(form.getChildren('field').map((f) => [f.attrs.var, f.getChildren('value').map((v) => v.getText())]));
  assert.deepEqual(fields.get('FORM_TYPE'), ['http://jabber.org/network/serverinfo']);
  assert.deepEqual(fields.get('abuse-addresses'), ['mailto:abuse@localhost']);
  assert.deepEqual(fields.get('security-addresses'), ['mailto:security@localhost', 'xmpp:security@localhost']);
  assert.deepEqual(fields.get('support-addresses'), ['https://localhost/support']);
  // Kinds without addresses are left out rather than sent empty.
  assert.equal(fields.has('sales-addresses'), false);
});

test('nothing is added when no address is configured', async (t) => {
  const s = await startServer(t, { modules: { disco: {}, 'contact-info': {} } });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const info = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: DISCO_INFO })));
  assert.equal(info.getChild('query', DISCO_INFO)!.getChild('x', 'jabber:x:data'), undefined);
});

test('an address that is not a URI stops the server from starting, naming the option', async () => {
  await assert.rejects(startServer(null, { modules: { disco: {}, 'contact-info': { abuse: ['abuse@localhost'] } } }),
    /modules\.contact-info\.abuse/);
});
