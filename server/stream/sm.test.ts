import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import { RawClient } from '../../test/kit/raw.js';

const SM = 'urn:xmpp:sm:3';
const chat = (to: string, body: string) => xml('message', { to, type: 'chat' }, xml('body', {}, body));

async function enableResumable(c: RawClient): Promise<string> {
  c.write(`<enable xmlns='${SM}' resume='true'/>`);
  const m = await c.waitFor(/<enabled xmlns="urn:xmpp:sm:3" id="([^"]+)" resume="true" max="\d+"\/>/);
  return m[1]!;
}

test('stream management is offered after authentication and counts handled stanzas', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const c = await RawClient.authenticated(s.ports.c2s, 'alice', 'alice-secret');
  t.after(() => c.destroy());
  assert.match(c.received, /<sm xmlns="urn:xmpp:sm:3"\/>/);
  await c.bind('desk');
  await enableResumable(c);
  c.write("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq><presence/>");
  c.write(`<r xmlns='${SM}'/>`);
  await c.waitFor(/<a xmlns="urn:xmpp:sm:3" h="2"\/>/);
});

test('the server asks for acknowledgements and a client that acknowledges keeps nothing pending', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const bob = await RawClient.login(s.ports.c2s, 'bob', 'bob-secret', 'phone');
  t.after(() => bob.destroy());
  await enableResumable(bob);
  bob.write('<presence/>');
  await alice.send(chat('bob@localhost/phone', 'one'));
  await bob.waitFor(/<r xmlns="urn:xmpp:sm:3"\/>/);
  const session = s.server.sessions.byFullJid('bob@localhost/phone')!;
  assert.ok(session.sm!.unacked.length >= 1);
  const sent = session.sm!.unacked.length;
  bob.write(`<a xmlns='${SM}' h='${sent}'/>`);
  bob.write("<iq type='get' id='sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  await bob.waitFor(/id="sync"/);
  assert.equal(session.sm!.unacked.length, 1); // only the ping answer, sent after the <a/>
});

test('a session killed mid-stream is resumed and no message is lost', async (t) => {
  const s = await startServer(t, { config: { stream_management: { resume_timeout: '30s' } } });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const phone = await RawClient.login(s.ports.c2s, 'bob', 'bob-secret', 'phone');
  const id = await enableResumable(phone);
  phone.write('<presence/>');
  await alice.send(chat('bob@localhost', 'before the tunnel'));
  await phone.waitFor(/before the tunnel/);
  phone.destroy(); // no </stream:stream>, no <a/>: the train entered a tunnel
  await alice.send(chat('bob@localhost', 'in the tunnel 1'));
  await alice.send(chat('bob@localhost/phone', 'in the tunnel 2'));
  // Nothing bounces while the session waits for its client.
  await alice.nothing((el) => el.name === 'message' && el.attrs.type === 'error', 300);

  const back = await RawClient.authenticated(s.ports.c2s, 'bob', 'bob-secret');
  t.after(() => back.destroy());
  back.write(`<resume xmlns='${SM}' previd='${id}' h='0'/>`);
  await back.waitFor(/<resumed xmlns="urn:xmpp:sm:3" previd="[^"]+" h="\d+"\/>/);
  await back.waitFor(/before the tunnel[\s\S]*in the tunnel 1[\s\S]*in the tunnel 2/);
  // The session kept its address and presence: bare-JID messages still reach it.
  back.clear();
  await alice.send(chat('bob@localhost', 'after the tunnel'));
  await back.waitFor(/after the tunnel/);
});

test('resuming with an unknown id fails and the client can bind a new session', async (t) => {
  const s = await startServer(t);
  await s.createUser('bob');
  const c = await RawClient.authenticated(s.ports.c2s, 'bob', 'bob-secret');
  t.after(() => c.destroy());
  c.write(`<resume xmlns='${SM}' previd='no-such-session' h='0'/>`);
  await c.waitFor(/<failed xmlns="urn:xmpp:sm:3"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"\/><\/failed>/);
  assert.equal(await c.bind('fresh'), 'bob@localhost/fresh');
});

test("another account cannot resume someone else's session", async (t) => {
  const s = await startServer(t, { config: { stream_management: { resume_timeout: '30s' } } });
  await s.createUser('bob');
  await s.createUser('mallory');
  const phone = await RawClient.login(s.ports.c2s, 'bob', 'bob-secret', 'phone');
  const id = await enableResumable(phone);
  phone.destroy();
  const thief = await RawClient.authenticated(s.ports.c2s, 'mallory', 'mallory-secret');
  t.after(() => thief.destroy());
  thief.write(`<resume xmlns='${SM}' previd='${id}' h='0'/>`);
  await thief.waitFor(/<failed xmlns="urn:xmpp:sm:3"><item-not-found/);
});

test('messages a dead session never acknowledged go to the other resource when it is not resumed', async (t) => {
  const s = await startServer(t, { config: { stream_management: { resume_timeout: '500ms' } } });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const desk = await s.connect('bob', { resource: 'desk', priority: 1 });
  const phone = await RawClient.login(s.ports.c2s, 'bob', 'bob-secret', 'phone');
  await enableResumable(phone);
  phone.write('<presence><priority>5</priority></presence>');
  await alice.send(chat('bob@localhost', 'to the phone'));
  await phone.waitFor(/to the phone/);
  phone.destroy();
  const got = await desk.next((el) => el.name === 'message' && el.getChildText('body') === 'to the phone', 5000);
  assert.ok(got.getChild('delay', 'urn:xmpp:delay'), 'the re-routed copy carries a delay stamp');
});

test('messages a dead session never acknowledged are stored offline when no other resource is there', async (t) => {
  const s = await startServer(t, { config: { stream_management: { resume_timeout: '500ms' } } });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const phone = await RawClient.login(s.ports.c2s, 'bob', 'bob-secret', 'phone');
  await enableResumable(phone);
  phone.write('<presence/>');
  await alice.send(chat('bob@localhost', 'keep this for me'));
  await phone.waitFor(/keep this for me/);
  phone.destroy();
  // Wait until the session has been given up (its address leaves the registry).
  const deadline = Date.now() + 5000;
  while (s.server.sessions.byFullJid('bob@localhost/phone') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const bob = await s.connect('bob');
  const got = await bob.next((el) => el.name === 'message' && el.getChildText('body') === 'keep this for me');
  assert.ok(got.getChild('delay', 'urn:xmpp:delay'));
});

test('an unacknowledged IQ request to a dead session is answered with an error', async (t) => {
  const s = await startServer(t, { config: { stream_management: { resume_timeout: '500ms' } } });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const phone = await RawClient.login(s.ports.c2s, 'bob', 'bob-secret', 'phone');
  await enableResumable(phone);
  const answer = alice.iq(xml('iq', { type: 'get', to: 'bob@localhost/phone' }, xml('query', { xmlns: 'jabber:iq:version' })), 8000);
  await phone.waitFor(/jabber:iq:version/);
  phone.destroy();
  const reply = await answer;
  assert.equal(reply.attrs.type, 'error');
  assert.ok(reply.getChild('error')!.getChild('recipient-unavailable'));
});
