import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import type { TestClient } from '../../test/kit/client.js';

const COMMANDS = 'http://jabber.org/protocol/commands';
const ADMIN = 'http://jabber.org/protocol/admin';
const DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

async function setup(t: Parameters<typeof startServer>[0]) {
  const s = await startServer(t, {
    modules: { disco: {}, ping: {}, message: {}, adhoc: {}, admin: {} },
    config: { admins: ['admin@localhost'] },
  });
  await s.createUser('admin');
  await s.createUser('bob');
  return { s, admin: await s.connect('admin', { resource: 'console' }) };
}

const commandOf = (iq: Element) => {
  assert.equal(iq.attrs.type, 'result', iq.toString());
  return iq.getChild('command', COMMANDS)!;
};
const conditionOf = (iq: Element) => iq.getChild('error')?.getChildElements()[0]?.name;

const execute = (c: TestClient, name: string) =>
  c.iq(xml('iq', { type: 'set', to: 'localhost' }, xml('command', { xmlns: COMMANDS, node: `${ADMIN}#${name}`, action: 'execute' })));

/** Run an XEP-0133 command the way a client does: execute, fill in the form, complete. */
async function run(c: TestClient, name: string, fields: Record<string, string | string[]>): Promise<Element> {
  const form = commandOf(await execute(c, name));
  assert.equal(form.attrs.status, 'executing');
  const x = xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, ADMIN)),
    ...Object.entries(fields).map(([k, v]) => xml('field', { var: k }, ...[v].flat().map((value) => xml('value', {}, value)))));
  return c.iq(xml('iq', { type: 'set', to: 'localhost' },
    xml('command', { xmlns: COMMANDS, node: `${ADMIN}#${name}`, sessionid: form.attrs.sessionid, action: 'complete' }, x)));
}

/** Resolves when the server has closed the client's connection. */
function closed(c: TestClient): Promise<void> {
  return new Promise((resolve, reject) => {
    if (c.xmpp.status === 'offline' || c.xmpp.status === 'disconnect') { resolve(); return; }
    const timer = setTimeout(() => reject(new Error(`${c.jid} was not disconnected`)), 5000);
    c.xmpp.once('disconnect', () => { clearTimeout(timer); resolve(); });
  });
}

const fieldValues = (command: Element, name: string) =>
  command.getChild('x', 'jabber:x:data')!.getChildren('field').find((f) => f.attrs.var === name)!.getChildren('value').map((v) => v.getText());

test('a non-admin does not see the admin commands and is refused when running one', async (t) => {
  const { s } = await setup(t);
  const bob = await s.connect('bob');
  const items = await bob.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: DISCO_ITEMS, node: COMMANDS })));
  assert.deepEqual(items.getChild('query', DISCO_ITEMS)!.getChildren('item'), []);
  for (const name of ['add-user', 'delete-user', 'disable-user', 'end-user-session', 'get-online-users-list', 'announce']) {
    assert.equal(conditionOf(await execute(bob, name)), 'forbidden', name);
  }
});

test('an admin sees the admin commands on the commands node', async (t) => {
  const { admin } = await setup(t);
  const items = await admin.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: DISCO_ITEMS, node: COMMANDS })));
  const nodes = items.getChild('query', DISCO_ITEMS)!.getChildren('item').map((i) => i.attrs.node);
  for (const name of ['add-user', 'delete-user', 'disable-user', 'reenable-user', 'end-user-session', 'change-user-password', 'get-online-users-num', 'get-online-users-list', 'announce']) {
    assert.ok(nodes.includes(`${ADMIN}#${name}`), name);
  }
});

test('an admin adds a user who can then log in; adding them again is a conflict', async (t) => {
  const { s, admin } = await setup(t);
  const form = commandOf(await execute(admin, 'add-user'));
  const x = form.getChild('x', 'jabber:x:data')!;
  assert.equal(x.getChildren('field').find((f) => f.attrs.var === 'FORM_TYPE')!.getChildText('value'), ADMIN);
  const done = commandOf(await run(admin, 'add-user', { accountjid: 'carol@localhost', password: 'carol-secret', 'password-verify': 'carol-secret' }));
  assert.equal(done.attrs.status, 'completed');
  const carol = await s.connect('carol');
  assert.equal(carol.bare, 'carol@localhost');
  assert.equal(conditionOf(await run(admin, 'add-user', { accountjid: 'carol@localhost', password: 'x', 'password-verify': 'x' })), 'conflict');
});

test('passwords that differ are not acceptable', async (t) => {
  const { admin } = await setup(t);
  assert.equal(conditionOf(await run(admin, 'add-user', { accountjid: 'dave@localhost', password: 'a', 'password-verify': 'b' })), 'not-acceptable');
});

test('an admin deletes a user: the session ends and the account is gone', async (t) => {
  const { s, admin } = await setup(t);
  const bob = await s.connect('bob');
  const gone = closed(bob);
  assert.equal(commandOf(await run(admin, 'delete-user', { accountjids: ['bob@localhost'] })).attrs.status, 'completed');
  await gone;
  await assert.rejects(s.connect('bob'));
  assert.equal(conditionOf(await run(admin, 'delete-user', { accountjids: ['bob@localhost'] })), 'item-not-found');
});

test('an admin disables a user, who cannot log in until re-enabled', async (t) => {
  const { s, admin } = await setup(t);
  const bob = await s.connect('bob');
  const gone = closed(bob);
  assert.equal(commandOf(await run(admin, 'disable-user', { accountjids: ['bob@localhost'] })).attrs.status, 'completed');
  await gone;
  await assert.rejects(s.connect('bob'));
  assert.equal(commandOf(await run(admin, 'reenable-user', { accountjids: ['bob@localhost'] })).attrs.status, 'completed');
  const back = await s.connect('bob');
  assert.equal(back.bare, 'bob@localhost');
});

test('an admin ends one session of a user, or all of them, without banning the user', async (t) => {
  const { s, admin } = await setup(t);
  const phone = await s.connect('bob', { resource: 'phone' });
  const desk = await s.connect('bob', { resource: 'desk' });
  const phoneGone = closed(phone);
  assert.equal(commandOf(await run(admin, 'end-user-session', { accountjids: ['bob@localhost/phone'] })).attrs.status, 'completed');
  await phoneGone;
  assert.equal(desk.xmpp.status, 'online');
  const deskGone = closed(desk);
  await run(admin, 'end-user-session', { accountjids: ['bob@localhost'] });
  await deskGone;
  assert.equal((await s.connect('bob')).bare, 'bob@localhost');
});

test('an admin changes a user\'s password', async (t) => {
  const { s, admin } = await setup(t);
  assert.equal(commandOf(await run(admin, 'change-user-password', { accountjid: 'bob@localhost', password: 'new-secret' })).attrs.status, 'completed');
  await assert.rejects(s.connect('bob'));
  assert.equal((await s.connect('bob', { password: 'new-secret' })).bare, 'bob@localhost');
});

test('an admin gets the number and the list of online users', async (t) => {
  const { s, admin } = await setup(t);
  await s.connect('bob', { resource: 'a' });
  await s.connect('bob', { resource: 'b' });
  const num = commandOf(await execute(admin, 'get-online-users-num'));
  assert.equal(num.attrs.status, 'completed');
  assert.deepEqual(fieldValues(num, 'onlineusersnum'), ['2']);
  const list = commandOf(await run(admin, 'get-online-users-list', { max_items: 'none' }));
  assert.deepEqual(fieldValues(list, 'onlineuserjids'), ['admin@localhost', 'bob@localhost']);
  const one = commandOf(await run(admin, 'get-online-users-list', { max_items: '1' }));
  assert.equal(fieldValues(one, 'onlineuserjids').length, 1);
});

test('an admin announces a message to every online user', async (t) => {
  const { s, admin } = await setup(t);
  const phone = await s.connect('bob', { resource: 'phone' });
  const desk = await s.connect('bob', { resource: 'desk' });
  const done = commandOf(await run(admin, 'announce', { subject: 'Maintenance', announcement: ['Going down at noon.', 'Back soon.'] }));
  assert.equal(done.attrs.status, 'completed');
  for (const c of [phone, desk, admin]) {
    const m = await c.next((el) => el.name === 'message' && el.attrs.type === 'headline');
    assert.equal(m.attrs.from, 'localhost');
    assert.equal(m.getChildText('subject'), 'Maintenance');
    assert.equal(m.getChildText('body'), 'Going down at noon.\nBack soon.');
  }
});
