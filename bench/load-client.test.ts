import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../test/kit/server.js';
import { BenchConnection } from './load-client.js';
import { ScramSha1Client } from './scram-client.js';
import { XmlSplitter, attr, elementName } from './xml-splitter.js';

function split(chunks: string[]): { opened: string[]; elements: string[]; closed: number } {
  const out = { opened: [] as string[], elements: [] as string[], closed: 0 };
  const s = new XmlSplitter({
    streamOpen: (tag) => out.opened.push(tag),
    element: (xml) => out.elements.push(xml),
    streamClose: () => out.closed++,
  });
  for (const c of chunks) s.write(Buffer.from(c));
  return out;
}

test('the splitter cuts a stream into its header and top-level elements, whatever the chunking', () => {
  const stream = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' id='x'>" +
    "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>" +
    "<message id='m1' type='chat'><body>a &gt; b, 😀</body></message><presence/></stream:stream>";
  const whole = split([stream]);
  assert.equal(whole.opened.length, 1);
  assert.deepEqual(whole.elements, [
    "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
    "<message id='m1' type='chat'><body>a &gt; b, 😀</body></message>",
    '<presence/>',
  ]);
  assert.equal(whole.closed, 1);
  // One byte at a time, splitting the emoji's UTF-8 bytes too.
  const bytes = Buffer.from(stream);
  const s = new XmlSplitter({ streamOpen: () => undefined, element: (x) => elements.push(x), streamClose: () => undefined });
  const elements: string[] = [];
  for (let i = 0; i < bytes.length; i++) s.write(bytes.subarray(i, i + 1));
  assert.deepEqual(elements, whole.elements);
});

test('attributes are read from the opening tag only, in either quote style', () => {
  const xml = `<message from="a@x/r" type='chat' id="m42"><body id='inner'>hi</body></message>`;
  assert.equal(attr(xml, 'id'), 'm42');
  assert.equal(attr(xml, 'from'), 'a@x/r');
  assert.equal(attr(xml, 'to'), undefined);
  assert.equal(attr("<iq xid='1' id='2'/>", 'id'), '2');
  assert.equal(elementName("<stream:features xmlns:stream='s'>"), 'features');
});

test('the SCRAM-SHA-1 client computes the proof and checks the signature of RFC 5802 section 5', () => {
  const c = new ScramSha1Client('user', 'pencil', 'fyko+d2lbbFgONRv9qkxdawL');
  assert.equal(Buffer.from(c.first(), 'base64').toString(), 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
  const serverFirst = 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096';
  const final = Buffer.from(c.final(Buffer.from(serverFirst).toString('base64')), 'base64').toString();
  assert.equal(final, 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
  assert.ok(c.verify(Buffer.from('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=').toString('base64')));
  assert.ok(!c.verify(Buffer.from('v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=').toString('base64')));
});

test('the load client logs in to Parley with STARTTLS and SCRAM, then exchanges a message', async (t) => {
  const s = await startServer(t, { logLevel: 'warn' });
  await s.createUser('alice');
  await s.createUser('bob');
  const opts = { host: '127.0.0.1', port: s.ports.c2s, domain: s.domain, tls: 'starttls' as const, mechanism: 'SCRAM-SHA-1' as const, timeoutMs: 10_000 };
  const { conn: alice } = await BenchConnection.login({ ...opts, username: 'alice', password: 'alice-secret', resource: 'a' });
  const { conn: bob, timings } = await BenchConnection.login({ ...opts, username: 'bob', password: 'bob-secret', resource: 'b' });
  t.after(() => { alice.destroy(); bob.destroy(); });
  assert.equal(bob.jid, `bob@${s.domain}/b`);
  assert.ok(timings.toBoundMs > 0);
  assert.equal(bob.tlsInfo?.protocol, 'TLSv1.3');
  const got = new Promise<string>((resolve) => { bob.onStanza = (xml) => { if (xml.startsWith('<message')) resolve(xml); }; });
  bob.send('<presence/>');
  alice.send(`<message to='bob@${s.domain}/b' type='chat' id='m7'><body>hello</body></message>`);
  const xml = await got;
  assert.equal(attr(xml, 'id'), 'm7');
  assert.equal(attr(xml, 'from'), `alice@${s.domain}/a`);
});

test('the load client logs in over direct TLS with PLAIN', async (t) => {
  const s = await startServer(t, { logLevel: 'warn' });
  await s.createUser('carol');
  const { conn } = await BenchConnection.login({
    host: '127.0.0.1', port: s.ports.directTls, domain: s.domain, tls: 'direct', mechanism: 'PLAIN',
    username: 'carol', password: 'carol-secret', resource: 'c', timeoutMs: 10_000,
  });
  t.after(() => conn.destroy());
  assert.equal(conn.jid, `carol@${s.domain}/c`);
});

test('a wrong password fails the login with the server\'s answer', async (t) => {
  const s = await startServer(t, { logLevel: 'warn' });
  await s.createUser('dave');
  await assert.rejects(BenchConnection.login({
    host: '127.0.0.1', port: s.ports.c2s, domain: s.domain, tls: 'starttls', mechanism: 'SCRAM-SHA-1',
    username: 'dave', password: 'wrong', resource: 'd', timeoutMs: 10_000,
  }), /authentication failed: <failure/);
});
