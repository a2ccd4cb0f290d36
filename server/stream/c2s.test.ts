import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import { RawClient } from '../../test/kit/raw.js';
import { scramLogin } from '../../test/kit/scram-client.js';

const chat = (to: string, body: string) => xml('message', { to, type: 'chat', id: `m-${body}` }, xml('body', {}, body));

test('two users exchange messages over STARTTLS', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const bob = await s.connect('bob');
  await alice.send(chat(bob.jid, 'hello bob'));
  const got = await bob.next((el) => el.name === 'message');
  assert.equal(got.getChildText('body'), 'hello bob');
  assert.equal(got.attrs.from, alice.jid);
  await bob.send(chat(alice.bare, 'hi alice'));
  assert.equal((await alice.next((el) => el.name === 'message')).getChildText('body'), 'hi alice');
});

test('a client connects with direct TLS and chats with a STARTTLS client', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice', { transport: 'directtls' });
  const bob = await s.connect('bob');
  await alice.send(chat(bob.bare, 'over direct tls'));
  assert.equal((await bob.next((el) => el.name === 'message')).getChildText('body'), 'over direct tls');
});

test('a client connects over WebSocket and chats with a TCP client', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice', { transport: 'websocket' });
  const bob = await s.connect('bob');
  await bob.send(chat(alice.jid, 'to the browser'));
  assert.equal((await alice.next((el) => el.name === 'message')).getChildText('body'), 'to the browser');
  await alice.send(chat(bob.jid, 'from the browser'));
  assert.equal((await bob.next((el) => el.name === 'message')).getChildText('body'), 'from the browser');
});

test('the plaintext stream offers only STARTTLS, marked required', async (t) => {
  const s = await startServer(t);
  const c = await RawClient.connect(s.ports.c2s);
  t.after(() => c.destroy());
  c.openStream();
  const m = await c.waitFor(/<stream:features>.*?<\/stream:features>/);
  assert.match(m[0], /<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"><required\/><\/starttls>/);
  assert.doesNotMatch(m[0], /mechanism/);
});

test('PLAIN authentication before TLS is refused with encryption-required', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const c = await RawClient.connect(s.ports.c2s);
  t.after(() => c.destroy());
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  c.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from('\0alice\0alice-secret').toString('base64')}</auth>`);
  await c.waitFor(/<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><encryption-required\/>/);
  assert.doesNotMatch(c.received, /<success/);
});

test('a stanza before TLS ends the stream with policy-violation', async (t) => {
  const s = await startServer(t);
  const c = await RawClient.connect(s.ports.c2s);
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  c.write("<message to='bob@localhost'><body>plain</body></message>");
  await c.waitFor(/<policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
  await c.waitClosed();
});

test('after TLS the server offers SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS, SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN', async (t) => {
  const s = await startServer(t);
  const c = await RawClient.connect(s.ports.c2s);
  t.after(() => c.destroy());
  c.openStream();
  await c.waitFor(/<starttls/);
  await c.startTls();
  c.openStream();
  const m = await c.waitFor(/<mechanisms[^>]*>(.*?)<\/mechanisms>/);
  const offered = [...m[1]!.matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((x) => x[1]);
  assert.deepEqual(offered, ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
  assert.match(c.received, /<channel-binding type="tls-exporter"\/>/);
});

for (const mechanism of ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256', 'SCRAM-SHA-1']) {
  test(`a client authenticates with ${mechanism} and verifies the server signature`, async (t) => {
    const s = await startServer(t);
    await s.createUser('alice');
    const c = await RawClient.connect(s.ports.c2s);
    t.after(() => c.destroy());
    c.openStream();
    await c.waitFor(/<starttls/);
    await c.startTls();
    c.openStream();
    await c.waitFor(/<\/stream:features>/);
    const result = await scramLogin(c, { mechanism, user: 'alice', password: 'alice-secret', channelBinding: c.channelBinding() });
    assert.equal(result, 'success');
  });
}

test('SCRAM-SHA-256-PLUS with channel-binding data from another connection fails', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const c = await RawClient.secured(s.ports.c2s);
  t.after(() => c.destroy());
  const result = await scramLogin(c, { mechanism: 'SCRAM-SHA-256-PLUS', user: 'alice', password: 'alice-secret', channelBinding: Buffer.alloc(32, 7) });
  assert.match(result, /not-authorized/);
});

test('@xmpp/client logs in with PLAIN when only PLAIN is offered', async (t) => {
  const s = await startServer(t, { config: { sasl: { mechanisms: ['PLAIN'] } } });
  await s.createUser('alice');
  const alice = await s.connect('alice');
  assert.match(alice.jid, /^alice@localhost\//);
});

test('a wrong password gets not-authorized and the server keeps serving others', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  await assert.rejects(s.connect('alice', { password: 'wrong' }), /not-authorized/);
  const bob = await s.connect('bob');
  assert.ok(bob.jid.startsWith('bob@localhost/'));
});

test('an unknown user gets the same not-authorized as a wrong password', async (t) => {
  const s = await startServer(t);
  await assert.rejects(s.connect('nobody', { password: 'x' }), /not-authorized/);
});

test('repeated failures from one address are answered more and more slowly', async (t) => {
  const s = await startServer(t, { config: { limits: { auth_failure_delay: '150ms', auth_failure_delay_max: '2s' } } });
  await s.createUser('alice');
  const timed = async () => {
    const start = Date.now();
    await assert.rejects(s.connect('alice', { password: 'wrong' }), /not-authorized/);
    return Date.now() - start;
  };
  await timed(); // the first failure is not delayed
  const second = await timed();
  const third = await timed();
  assert.ok(second >= 140, `second failure answered after ${second} ms`);
  assert.ok(third >= 290, `third failure answered after ${third} ms`);
});

test('passwords never reach the logs', async (t) => {
  const s = await startServer(t, { config: { sasl: { mechanisms: ['PLAIN'] } } });
  await s.createUser('alice', 'correct horse battery staple');
  await s.connect('alice', { password: 'correct horse battery staple' });
  await assert.rejects(s.connect('alice', { password: 'Tr0ub4dor&3' }), /not-authorized/);
  const text = JSON.stringify(s.logs);
  assert.doesNotMatch(text, /correct horse/);
  assert.doesNotMatch(text, /Tr0ub4dor/);
  assert.match(text, /authentication failed/);
});

test('message bodies are not logged at info level', async (t) => {
  const s = await startServer(t, { logLevel: 'info' });
  await s.createUser('alice');
  await s.createUser('bob');
  const alice = await s.connect('alice');
  const bob = await s.connect('bob');
  await alice.send(chat(bob.jid, 'the merger closes friday'));
  await bob.next((el) => el.name === 'message');
  assert.doesNotMatch(JSON.stringify(s.logs), /merger/);
});

test('a stream to a domain the server does not host gets host-unknown', async (t) => {
  const s = await startServer(t);
  const c = await RawClient.connect(s.ports.c2s);
  c.openStream('example.org');
  await c.waitFor(/<host-unknown xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
  await c.waitClosed();
});

test('a stream header with the wrong namespace gets invalid-namespace', async (t) => {
  const s = await startServer(t);
  const c = await RawClient.connect(s.ports.c2s);
  c.write("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>");
  await c.waitFor(/<invalid-namespace xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
  await c.waitClosed();
});

test('a stream header without version 1.0 gets unsupported-version', async (t) => {
  const s = await startServer(t);
  const c = await RawClient.connect(s.ports.c2s);
  c.write("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost'>");
  await c.waitFor(/<unsupported-version xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
  await c.waitClosed();
});

test('malformed XML gets not-well-formed and the server keeps serving another client', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const bad = await RawClient.login(s.ports.c2s, 'alice', 'alice-secret');
  bad.write('<message to="bob@localhost"><body>unclosed</message>');
  await bad.waitFor(/<not-well-formed xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
  await bad.waitClosed();
  const bob = await s.connect('bob');
  const pong = await bob.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(pong.attrs.type, 'result');
});

test('a DTD with an entity bomb gets restricted-xml', async (t) => {
  const s = await startServer(t);
  const c = await RawClient.connect(s.ports.c2s);
  c.write('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>');
  await c.waitFor(/<restricted-xml xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
  await c.waitClosed();
});

test('a comment inside a stanza gets restricted-xml', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const c = await RawClient.login(s.ports.c2s, 'alice', 'alice-secret');
  c.write('<message to="alice@localhost"><!-- hidden --><body>x</body></message>');
  await c.waitFor(/<restricted-xml xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
  await c.waitClosed();
});

test('an oversize stanza gets policy-violation before it is complete', async (t) => {
  const s = await startServer(t, { config: { limits: { max_stanza_bytes: 20000 } } });
  await s.createUser('alice');
  const c = await RawClient.login(s.ports.c2s, 'alice', 'alice-secret');
  // No end tag: the server must refuse on size alone rather than buffer forever.
  c.write(`<message to="alice@localhost"><body>${'x'.repeat(30000)}`);
  await c.waitFor(/<policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
  await c.waitClosed();
});

test("a spoofed 'from' gets invalid-from and nothing is delivered", async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  await s.createUser('mallory');
  const bob = await s.connect('bob');
  const mallory = await RawClient.login(s.ports.c2s, 'mallory', 'mallory-secret');
  mallory.write(`<message from="alice@localhost/desk" to="${bob.jid}" type="chat"><body>wire the money</body></message>`);
  await mallory.waitFor(/<invalid-from xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
  await mallory.waitClosed();
  await bob.nothing((el) => el.name === 'message');
});

test("the server stamps 'from' with the sender's full JID", async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  await s.createUser('bob');
  const bob = await s.connect('bob');
  const alice = await RawClient.login(s.ports.c2s, 'alice', 'alice-secret', 'laptop');
  alice.write(`<message to="${bob.jid}" type="chat"><body>who am i</body></message>`);
  const got = await bob.next((el) => el.name === 'message');
  assert.equal(got.attrs.from, 'alice@localhost/laptop');
});

test('a connection that does not authenticate in time is closed with connection-timeout', async (t) => {
  const s = await startServer(t, { config: { limits: { auth_timeout: '300ms' } } });
  const c = await RawClient.connect(s.ports.c2s);
  c.openStream();
  await c.waitFor(/<connection-timeout xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/, 3000);
  await c.waitClosed();
});

test('binding a resource that is in use replaces the old session with a conflict error', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const first = await RawClient.login(s.ports.c2s, 'alice', 'alice-secret', 'phone');
  const second = await RawClient.login(s.ports.c2s, 'alice', 'alice-secret', 'phone');
  t.after(() => second.destroy());
  await first.waitFor(/<conflict xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>/);
  await first.waitClosed();
  second.clear();
  second.write("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  await second.waitFor(/<iq[^>]*id="p1"[^>]*type="result"|<iq[^>]*type="result"[^>]*id="p1"/);
});

test('the server generates a resource when the client asks for none', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const c = await RawClient.authenticated(s.ports.c2s, 'alice', 'alice-secret');
  t.after(() => c.destroy());
  c.write("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>");
  const m = await c.waitFor(/<jid>([^<]+)<\/jid>/);
  assert.match(m[1]!, /^alice@localhost\/parley-[0-9a-f]{12}$/);
});

test('an IQ with an unknown namespace gets service-unavailable', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const reply = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'urn:example:unknown' })));
  assert.equal(reply.attrs.type, 'error');
  assert.ok(reply.getChild('error')?.getChild('service-unavailable', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
});

test('a message to a user who does not exist gets service-unavailable', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  await alice.send(chat('ghost@localhost', 'anyone?'));
  const err = await alice.next((el) => el.name === 'message' && el.attrs.type === 'error');
  assert.equal(err.attrs.from, 'ghost@localhost');
  assert.ok(err.getChild('error')?.getChild('service-unavailable', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
});

test('an IQ get with two payloads gets bad-request', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  const reply = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' }), xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(reply.attrs.type, 'error');
  assert.ok(reply.getChild('error')?.getChild('bad-request', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
});

test('a stanza to a remote domain is refused while federation is off', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const alice = await s.connect('alice');
  await alice.send(chat('someone@example.org', 'hello'));
  const err = await alice.next((el) => el.name === 'message' && el.attrs.type === 'error');
  assert.ok(err.getChild('error')?.getChild('not-allowed', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
});

test('stopping the server sends every session a system-shutdown stream error and the closing tag', async (t) => {
  const s = await startServer(t);
  await s.createUser('alice');
  const c = await RawClient.login(s.ports.c2s, 'alice', 'alice-secret');
  await s.stop();
  await c.waitFor(/<system-shutdown xmlns="urn:ietf:params:xml:ns:xmpp-streams"\/>.*<\/stream:stream>/s);
  await c.waitClosed();
});
