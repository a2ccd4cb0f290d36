import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import { writeModule } from '../../test/kit/modules.js';
import type { TestClient } from '../../test/kit/client.js';

const COMMANDS = 'http://jabber.org/protocol/commands';
const DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

/** A third-party module that registers two commands through the adhoc service, as any module would. */
const FIXTURE = writeModule('adhoc-fixture', `
import { defineModule } from 'API';
export default defineModule({
  name: 'adhoc-fixture',
  requires: ['adhoc'],
  setup(ctx) {
    const adhoc = ctx.services.use('adhoc');
    adhoc.register({
      node: 'urn:test:echo', name: 'Echo', access: 'local',
      run(req) {
        if (!req.state.asked) {
          req.state.asked = true;
          return { status: 'executing', actions: { complete: true },
            form: adhoc.form({ type: 'form', title: 'Echo', fields: [{ var: 'text', type: 'text-single', label: 'Say something', required: true }] }) };
        }
        const text = req.values.get('text')?.[0] ?? '';
        return { status: 'completed', note: { type: 'info', text: 'you said ' + text },
          form: adhoc.form({ type: 'result', fields: [{ var: 'text', values: [text] }] }) };
      },
    });
    adhoc.register({
      node: 'urn:test:secret', name: 'Secret', access: 'admin',
      run() { return { status: 'completed', note: { type: 'info', text: 'the secret' } }; },
    });
  },
});
`);

async function setup(t: Parameters<typeof startServer>[0]) {
  const s = await startServer(t, {
    modules: { disco: {}, ping: {}, adhoc: {}, 'adhoc-fixture': {} },
    config: { admins: ['admin@localhost'], module_paths: [FIXTURE] },
  });
  await s.createUser('admin');
  await s.createUser('bob');
  return { s, admin: await s.connect('admin'), bob: await s.connect('bob') };
}

const command = (c: TestClient, attrs: Record<string, string | undefined>, ...children: Element[]) =>
  c.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('command', { xmlns: COMMANDS, ...attrs }, ...children)));
const submit = (fields: Record<string, string>) => xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
  ...Object.entries(fields).map(([k, v]) => xml('field', { var: k }, xml('value', {}, v))));
const errorOf = (iq: Element) => ({ condition: iq.getChild('error')?.getChildElements()[0]?.name, app: iq.getChild('error')?.getChild('bad-action', COMMANDS) ? 'bad-action' : iq.getChild('error')?.getChild('bad-sessionid', COMMANDS) ? 'bad-sessionid' : undefined });
const listed = async (c: TestClient) => (await c.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: DISCO_ITEMS, node: COMMANDS }))))
  .getChild('query', DISCO_ITEMS)!.getChildren('item').map((i) => i.attrs.node);

test('ad-hoc commands are announced in the server\'s disco#info', async (t) => {
  const { bob } = await setup(t);
  const info = await bob.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: DISCO_INFO })));
  assert.ok(info.getChild('query', DISCO_INFO)!.getChildren('feature').some((f) => f.attrs.var === COMMANDS));
});

test('the commands node lists only the commands the requester may run', async (t) => {
  const { admin, bob } = await setup(t);
  assert.deepEqual(await listed(bob), ['urn:test:echo']);
  assert.deepEqual((await listed(admin)).sort(), ['urn:test:echo', 'urn:test:secret']);
});

test('disco#info of a command node says it is a command with data forms', async (t) => {
  const { bob } = await setup(t);
  const info = await bob.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: DISCO_INFO, node: 'urn:test:echo' })));
  const q = info.getChild('query', DISCO_INFO)!;
  assert.equal(q.getChild('identity')!.attrs.category, 'automation');
  assert.equal(q.getChild('identity')!.attrs.type, 'command-node');
  assert.deepEqual(q.getChildren('feature').map((f) => f.attrs.var).sort(), [COMMANDS, 'jabber:x:data']);
});

test('a two-step command: execute returns a form and a session id, complete submits it', async (t) => {
  const { bob } = await setup(t);
  const first = (await command(bob, { node: 'urn:test:echo', action: 'execute' })).getChild('command', COMMANDS)!;
  assert.equal(first.attrs.status, 'executing');
  assert.ok(first.attrs.sessionid);
  assert.equal(first.getChild('actions')!.attrs.execute, 'complete');
  assert.ok(first.getChild('actions')!.getChild('complete'));
  assert.equal(first.getChild('x', 'jabber:x:data')!.attrs.type, 'form');
  const done = (await command(bob, { node: 'urn:test:echo', sessionid: first.attrs.sessionid, action: 'complete' }, submit({ text: 'hello' })))
    .getChild('command', COMMANDS)!;
  assert.equal(done.attrs.status, 'completed');
  assert.equal(done.attrs.sessionid, first.attrs.sessionid);
  assert.equal(done.getChildText('note'), 'you said hello');
  // The run is over: its session id is gone.
  const again = await command(bob, { node: 'urn:test:echo', sessionid: first.attrs.sessionid, action: 'complete' }, submit({ text: 'x' }));
  assert.deepEqual(errorOf(again), { condition: 'bad-request', app: 'bad-sessionid' });
});

test('a run can be cancelled, after which its session is gone', async (t) => {
  const { bob } = await setup(t);
  const first = (await command(bob, { node: 'urn:test:echo' })).getChild('command', COMMANDS)!;
  const cancelled = (await command(bob, { node: 'urn:test:echo', sessionid: first.attrs.sessionid, action: 'cancel' })).getChild('command', COMMANDS)!;
  assert.equal(cancelled.attrs.status, 'canceled');
  const late = await command(bob, { node: 'urn:test:echo', sessionid: first.attrs.sessionid, action: 'complete' }, submit({ text: 'x' }));
  assert.deepEqual(errorOf(late), { condition: 'bad-request', app: 'bad-sessionid' });
});

test('an action the command did not offer is refused with bad-action', async (t) => {
  const { bob } = await setup(t);
  const first = (await command(bob, { node: 'urn:test:echo' })).getChild('command', COMMANDS)!;
  const wrong = await command(bob, { node: 'urn:test:echo', sessionid: first.attrs.sessionid, action: 'next' });
  assert.deepEqual(errorOf(wrong), { condition: 'bad-request', app: 'bad-action' });
});

test('nobody else can continue a run', async (t) => {
  const { s, bob } = await setup(t);
  const other = await s.connect('bob', { resource: 'other' });
  const first = (await command(bob, { node: 'urn:test:echo' })).getChild('command', COMMANDS)!;
  const stolen = await command(other, { node: 'urn:test:echo', sessionid: first.attrs.sessionid, action: 'complete' }, submit({ text: 'x' }));
  assert.deepEqual(errorOf(stolen), { condition: 'bad-request', app: 'bad-sessionid' });
});

test('a command for admins only is refused to a non-admin and runs for an admin', async (t) => {
  const { admin, bob } = await setup(t);
  assert.equal(errorOf(await command(bob, { node: 'urn:test:secret' })).condition, 'forbidden');
  const ok = (await command(admin, { node: 'urn:test:secret' })).getChild('command', COMMANDS)!;
  assert.equal(ok.attrs.status, 'completed');
  assert.equal(ok.getChildText('note'), 'the secret');
});

test('an unknown command is item-not-found', async (t) => {
  const { bob } = await setup(t);
  assert.equal(errorOf(await command(bob, { node: 'urn:test:nothing' })).condition, 'item-not-found');
});
