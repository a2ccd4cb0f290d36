import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type Element } from '@xmpp/xml';
import { startServer } from '../../test/kit/server.js';
import { Jid } from '../../server/xml/jid.js';
import { RawClient } from '../../test/kit/raw.js';
import type { TestClient } from '../../test/kit/client.js';

const ROSTER = 'jabber:iq:roster';
const modules = { disco: {}, ping: {}, message: {}, roster: {}, presence: {} };

/** A presence from `from` (bare or full JID) of `type` ('available' when absent). */
const isPresence = (from: string, type = 'available') => (el: Element) =>
  el.name === 'presence' && el.attrs.from === from && (el.attrs.type ?? 'available') === type;
/** A roster push about `jid` with the given subscription (and ask, when given). */
const isPush = (jid: string, subscription: string, ask?: string) => (el: Element) => {
  const item = el.name === 'iq' && el.attrs.type === 'set' ? el.getChild('query', ROSTER)?.getChild('item') : undefined;
  return item?.attrs.jid === jid && item.attrs.subscription === subscription && (ask === undefined || item.attrs.ask === ask);
};
const subscription = (type: string, to: string) => xml('presence', { type, to });

async function rosterItem(c: TestClient, jid: string): Promise<Element | undefined> {
  const r = await c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
  return r.getChild('query', ROSTER)!.getChildren('item').find((i) => i.attrs.jid === jid);
}

/** Connect and request the roster, so the resource gets roster pushes. */
async function online(s: Awaited<ReturnType<typeof startServer>>, user: string, opts: Parameters<Awaited<ReturnType<typeof startServer>>['connect']>[1] = {}) {
  const c = await s.connect(user, opts);
  await rosterItem(c, '');
  return c;
}

async function setup(t: Parameters<typeof startServer>[0], users = ['alice', 'bob']) {
  const s = await startServer(t, { modules });
  for (const u of users) await s.createUser(u);
  return s;
}

/** The whole handshake both ways, so that a and b end in 'both'. */
async function befriend(a: TestClient, b: TestClient): Promise<void> {
  await a.send(subscription('subscribe', b.bare));
  await b.next(isPresence(a.bare, 'subscribe'));
  await b.send(subscription('subscribed', a.bare));
  await a.next(isPresence(b.bare, 'subscribed'));
  await b.send(subscription('subscribe', a.bare));
  await a.next(isPresence(b.bare, 'subscribe'));
  await a.send(subscription('subscribed', b.bare));
  await b.next(isPresence(a.bare, 'subscribed'));
}

test('the subscription handshake alice to bob and back ends in both, with roster pushes at every step', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  const bob = await online(s, 'bob');

  // RFC 6121 3.1.2: alice asks; her roster shows bob as none + ask.
  await alice.send(subscription('subscribe', 'bob@localhost'));
  await alice.next(isPush('bob@localhost', 'none', 'subscribe'));
  const request = await bob.next(isPresence('alice@localhost', 'subscribe'));
  assert.equal(request.attrs.to, 'bob@localhost');

  // 3.1.5: bob approves; bob's roster gets alice as from, alice's gets bob as to, and alice sees bob online.
  await bob.send(subscription('subscribed', 'alice@localhost'));
  await bob.next(isPush('alice@localhost', 'from'));
  await alice.next(isPresence('bob@localhost', 'subscribed'));
  const aliceSeesTo = await alice.next(isPush('bob@localhost', 'to'));
  assert.equal(aliceSeesTo.getChild('query', ROSTER)!.getChild('item')!.attrs.ask, undefined);
  await alice.next(isPresence(bob.jid));

  // And the other way round.
  await bob.send(subscription('subscribe', 'alice@localhost'));
  await bob.next(isPush('alice@localhost', 'from', 'subscribe'));
  await alice.next(isPresence('bob@localhost', 'subscribe'));
  await alice.send(subscription('subscribed', 'bob@localhost'));
  await alice.next(isPush('bob@localhost', 'both'));
  await bob.next(isPresence('alice@localhost', 'subscribed'));
  await bob.next(isPush('alice@localhost', 'both'));
  await bob.next(isPresence(alice.jid));

  assert.equal((await rosterItem(alice, 'bob@localhost'))!.attrs.subscription, 'both');
  assert.equal((await rosterItem(bob, 'alice@localhost'))!.attrs.subscription, 'both');
});

test('a subscription request to an offline contact is delivered at each login until it is answered', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  await alice.send(xml('presence', { type: 'subscribe', to: 'bob@localhost' }, xml('status', {}, 'It is alice from accounting')));
  await alice.next(isPush('bob@localhost', 'none', 'subscribe'));

  const bob = await s.connect('bob');
  const request = await bob.next(isPresence('alice@localhost', 'subscribe'));
  assert.equal(request.getChildText('status'), 'It is alice from accounting');
  assert.ok(request.getChild('delay', 'urn:xmpp:delay'), 'a stored request carries a delay stamp');
  await bob.stop();

  const bobAgain = await s.connect('bob');
  await bobAgain.next(isPresence('alice@localhost', 'subscribe'));
  await bobAgain.send(subscription('subscribed', 'alice@localhost'));
  await alice.next(isPush('bob@localhost', 'to'));
  await bobAgain.stop();

  const bobLater = await s.connect('bob');
  await bobLater.nothing(isPresence('alice@localhost', 'subscribe'));
});

test('a subscription request waits while the contact is connected but not yet available', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  const bob = await s.connect('bob', { presence: false });
  await alice.send(subscription('subscribe', 'bob@localhost'));
  await alice.next(isPush('bob@localhost', 'none', 'subscribe'));
  // 3.1.3: requests go to available resources; this one is kept until bob's initial presence.
  await bob.nothing(isPresence('alice@localhost', 'subscribe'), 300);
  await bob.send(xml('presence'));
  await bob.next(isPresence('alice@localhost', 'subscribe'));
});

test('a repeated subscription request is delivered once, and one for a granted subscription is answered by the server', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  const bob = await online(s, 'bob');
  await alice.send(subscription('subscribe', 'bob@localhost'));
  await alice.next(isPush('bob@localhost', 'none', 'subscribe'));
  await bob.next(isPresence('alice@localhost', 'subscribe'));
  // A.3.1 "None + Pending In": no state change, not delivered again.
  await alice.send(subscription('subscribe', 'bob@localhost'));
  await bob.nothing(isPresence('alice@localhost', 'subscribe'));

  await bob.send(subscription('subscribed', 'alice@localhost'));
  await alice.next(isPush('bob@localhost', 'to'));
  // A.3.1 "From": bob's server answers 'subscribed' itself; bob is not asked again and nothing changes.
  await alice.send(subscription('subscribe', 'bob@localhost'));
  await bob.nothing(isPresence('alice@localhost', 'subscribe'));
  await alice.nothing((el) => isPush('bob@localhost', 'none')(el) || isPush('bob@localhost', 'to', 'subscribe')(el));
  assert.equal((await rosterItem(alice, 'bob@localhost'))!.attrs.subscription, 'to');
  assert.equal((await rosterItem(bob, 'alice@localhost'))!.attrs.subscription, 'from');
});

test('subscription stanzas travel from the bare JID of the sender, even when addressed to a full JID', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice', { resource: 'phone' });
  const bob = await online(s, 'bob', { resource: 'desk' });
  await alice.send(subscription('subscribe', bob.jid));
  const request = await bob.next((el) => el.name === 'presence' && el.attrs.type === 'subscribe');
  assert.equal(request.attrs.from, 'alice@localhost');
  assert.equal(request.attrs.to, 'bob@localhost');
  await bob.send(subscription('subscribed', alice.jid));
  const answer = await alice.next((el) => el.name === 'presence' && el.attrs.type === 'subscribed');
  assert.equal(answer.attrs.from, 'bob@localhost');
  await alice.next(isPush('bob@localhost', 'to'));
});

test('unsubscribing ends the subscription on both sides and the contact appears unavailable', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  const bob = await online(s, 'bob');
  await befriend(alice, bob);
  // RFC 6121 3.3: alice no longer wants bob's presence.
  await alice.send(subscription('unsubscribe', 'bob@localhost'));
  await alice.next(isPush('bob@localhost', 'from'));
  await bob.next(isPresence('alice@localhost', 'unsubscribe'));
  await bob.next(isPush('alice@localhost', 'to'));
  // 3.3.3: bob's resources send alice unavailable presence.
  await alice.next(isPresence(bob.jid, 'unavailable'));
});

test('cancelling a subscription takes it away from the subscriber, who sees the contact go unavailable', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  const bob = await online(s, 'bob');
  await befriend(alice, bob);
  // RFC 6121 3.2: bob stops alice from seeing his presence.
  await bob.send(subscription('unsubscribed', 'alice@localhost'));
  await bob.next(isPush('alice@localhost', 'to'));
  await alice.next(isPresence('bob@localhost', 'unsubscribed'));
  await alice.next(isPush('bob@localhost', 'from'));
  await alice.next(isPresence(bob.jid, 'unavailable'));
  // Bob's later presence updates no longer reach alice; hers still reach him.
  await bob.send(xml('presence', {}, xml('show', {}, 'away')));
  await alice.nothing((el) => isPresence(bob.jid)(el) && el.getChildText('show') === 'away');
  await alice.send(xml('presence', {}, xml('show', {}, 'dnd')));
  assert.equal((await bob.next((el) => isPresence(alice.jid)(el) && el.getChildText('show') === 'dnd')).getChildText('show'), 'dnd');
});

test('denying a pending request clears the request and the ask on the requester side', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  const bob = await online(s, 'bob');
  await alice.send(subscription('subscribe', 'bob@localhost'));
  await alice.next(isPush('bob@localhost', 'none', 'subscribe'));
  await bob.next(isPresence('alice@localhost', 'subscribe'));
  await bob.send(subscription('unsubscribed', 'alice@localhost'));
  await alice.next(isPresence('bob@localhost', 'unsubscribed'));
  const push = await alice.next(isPush('bob@localhost', 'none'));
  assert.equal(push.getChild('query', ROSTER)!.getChild('item')!.attrs.ask, undefined);
  await bob.stop();
  const bobAgain = await s.connect('bob');
  await bobAgain.nothing(isPresence('alice@localhost', 'subscribe'));
});

test('removing a roster item cancels the subscriptions both ways and both sides see the other go unavailable', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  const bob = await online(s, 'bob');
  await befriend(alice, bob);
  const r = await alice.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: ROSTER }, xml('item', { jid: 'bob@localhost', subscription: 'remove' }))));
  assert.equal(r.attrs.type, 'result');
  await alice.next(isPush('bob@localhost', 'remove'));
  // RFC 6121 2.5.2: bob is told both ways and ends with no subscription.
  await bob.next(isPresence('alice@localhost', 'unsubscribe'));
  await bob.next(isPresence('alice@localhost', 'unsubscribed'));
  await bob.next(isPush('alice@localhost', 'none'));
  await bob.next(isPresence(alice.jid, 'unavailable'));
  await alice.next(isPresence(bob.jid, 'unavailable'));
  assert.equal((await rosterItem(bob, 'alice@localhost'))!.attrs.subscription, 'none');
});

test('a contact approved in advance gets the subscription without the user being asked', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  const bob = await online(s, 'bob');
  // RFC 6121 3.4: bob pre-approves alice.
  await bob.send(subscription('subscribed', 'alice@localhost'));
  const pre = await bob.next(isPush('alice@localhost', 'none'));
  assert.equal(pre.getChild('query', ROSTER)!.getChild('item')!.attrs.approved, 'true');
  await alice.nothing(isPresence('bob@localhost', 'subscribed'), 200);

  await alice.send(subscription('subscribe', 'bob@localhost'));
  await alice.next(isPresence('bob@localhost', 'subscribed'));
  await alice.next(isPush('bob@localhost', 'to'));
  await alice.next(isPresence(bob.jid));
  const granted = await bob.next(isPush('alice@localhost', 'from'));
  assert.equal(granted.getChild('query', ROSTER)!.getChild('item')!.attrs.approved, undefined);
  await bob.nothing(isPresence('alice@localhost', 'subscribe'));
});

test('the stream features announce subscription pre-approval', async (t) => {
  const s = await setup(t);
  const c = await RawClient.authenticated(s.ports.c2s, 'alice', 'alice-secret');
  t.after(() => c.destroy());
  const features = await c.waitFor(/<stream:features>.*?<\/stream:features>/);
  assert.match(features[0], /<sub xmlns="urn:xmpp:features:pre-approval"\/>/);
});

test('a subscription request to the own account is refused', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  await alice.send(subscription('subscribe', 'alice@localhost'));
  const err = await alice.next((el) => el.name === 'presence' && el.attrs.type === 'error');
  assert.ok(err.getChild('error')!.getChild('bad-request'));
});

test('a subscription request to a remote contact is recorded and bounced while federation is off', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  await alice.send(subscription('subscribe', 'romeo@remote.example'));
  await alice.next(isPush('romeo@remote.example', 'none', 'subscribe'));
  const err = await alice.next((el) => el.name === 'presence' && el.attrs.type === 'error');
  assert.equal(err.attrs.from, 'romeo@remote.example');
  assert.ok(err.getChild('error')!.getChild('not-allowed'));
});

test('a user who logs in gets the presence of contacts already online, and they get hers', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  const bob = await online(s, 'bob');
  await befriend(alice, bob);
  await alice.stop();
  await bob.stop();

  const bob2 = await s.connect('bob', { resource: 'desk' });
  await bob2.send(xml('presence', {}, xml('status', {}, 'at my desk')));
  const alice2 = await s.connect('alice', { resource: 'phone' });
  // RFC 6121 4.2.2 / 4.3.2: alice's initial presence probes bob; the answer is his last presence.
  const seen = await alice2.next((el) => isPresence(bob2.jid)(el) && el.getChildText('status') === 'at my desk');
  assert.equal(seen.attrs.to, alice2.jid);
  // ... and her initial presence is broadcast to bob.
  await bob2.next(isPresence(alice2.jid));
});

test('initial presence is reflected to the user and the other resources learn about each other', async (t) => {
  const s = await setup(t);
  const phone = await s.connect('alice', { resource: 'phone' });
  const laptop = await s.connect('alice', { resource: 'laptop' });
  // 4.2.2: a user is implicitly subscribed to its own presence.
  await phone.next(isPresence(laptop.jid));
  await laptop.next(isPresence(phone.jid));
  await laptop.next(isPresence(laptop.jid));
});

test('a presence update is broadcast to subscribers and to the other resources of the user', async (t) => {
  const s = await setup(t, ['alice', 'bob', 'carol']);
  const phone = await online(s, 'alice', { resource: 'phone' });
  const bob = await online(s, 'bob');
  const carol = await online(s, 'carol');
  await befriend(phone, bob);
  const laptop = await s.connect('alice', { resource: 'laptop' });
  await phone.send(xml('presence', {}, xml('show', {}, 'away'), xml('status', {}, 'lunch')));
  const atBob = await bob.next((el) => isPresence(phone.jid)(el) && el.getChildText('show') === 'away');
  assert.equal(atBob.getChildText('status'), 'lunch');
  assert.equal(atBob.attrs.to, 'bob@localhost');
  await laptop.next((el) => isPresence(phone.jid)(el) && el.getChildText('show') === 'away');
  await carol.nothing((el) => el.name === 'presence' && el.attrs.from === phone.jid);
});

test('a resource that sends unavailable presence appears unavailable to subscribers', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  const bob = await online(s, 'bob');
  await befriend(alice, bob);
  await alice.send(xml('presence', { type: 'unavailable' }, xml('status', {}, 'gone fishing')));
  const gone = await bob.next(isPresence(alice.jid, 'unavailable'));
  assert.equal(gone.getChildText('status'), 'gone fishing');
});

test('a contact whose connection drops without closing the stream appears unavailable', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  const bob = await online(s, 'bob');
  await befriend(alice, bob);
  const aliceJid = alice.jid;
  alice.kill();
  await bob.next(isPresence(aliceJid, 'unavailable'));
});

test('directed presence reaches a non-contact, who gets unavailable presence when the sender disconnects', async (t) => {
  const s = await setup(t, ['alice', 'bob', 'carol']);
  const alice = await online(s, 'alice');
  const carol = await online(s, 'carol');
  const bob = await online(s, 'bob');
  // RFC 6121 4.6: no subscription between alice and carol.
  await alice.send(xml('presence', { to: 'carol@localhost' }, xml('status', {}, 'hello carol')));
  const directed = await carol.next(isPresence(alice.jid));
  assert.equal(directed.getChildText('status'), 'hello carol');
  await bob.nothing(isPresence(alice.jid), 200);
  const aliceJid = alice.jid;
  alice.kill();
  // 4.6.3: the session is gone, so is the presence carol was given.
  await carol.next(isPresence(aliceJid, 'unavailable'));
});

test('a probe from a subscriber gets the current presence and one from a stranger reveals nothing', async (t) => {
  const s = await setup(t, ['alice', 'bob', 'carol']);
  const alice = await online(s, 'alice');
  const bob = await online(s, 'bob');
  const carol = await online(s, 'carol');
  await befriend(alice, bob);
  await bob.send(xml('presence', {}, xml('show', {}, 'xa')));
  await alice.next((el) => isPresence(bob.jid)(el) && el.getChildText('show') === 'xa');
  await alice.send(xml('presence', { type: 'probe', to: 'bob@localhost' }));
  const answer = await alice.next((el) => isPresence(bob.jid)(el) && el.getChildText('show') === 'xa');
  assert.equal(answer.attrs.to, alice.jid);
  await carol.send(xml('presence', { type: 'probe', to: 'bob@localhost' }));
  await carol.nothing((el) => el.name === 'presence' && el.attrs.from === bob.jid);
});

test('a message to the bare JID reaches the highest-priority resource only, never a negative one', async (t) => {
  const s = await setup(t);
  const alice = await online(s, 'alice');
  const desk = await s.connect('bob', { resource: 'desk', priority: 10 });
  const phone = await s.connect('bob', { resource: 'phone', priority: 1 });
  const bot = await s.connect('bob', { resource: 'bot', priority: -1 });
  const chat = (body: string) => xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, body));
  const isMessage = (body: string) => (el: Element) => el.name === 'message' && el.getChildText('body') === body;

  await alice.send(chat('first'));
  await desk.next(isMessage('first'));
  await phone.nothing(isMessage('first'));
  await bot.nothing(isMessage('first'), 100);

  // The desk goes unavailable: the phone is now the best available resource.
  await desk.send(xml('presence', { type: 'unavailable' }));
  await phone.next(isPresence(desk.jid, 'unavailable'));
  await alice.send(chat('second'));
  await phone.next(isMessage('second'));
  await desk.nothing(isMessage('second'));
  await bot.nothing(isMessage('second'), 100);
});

test('deleting an account ends its subscriptions and denies the requests it never answered', async (t) => {
  const s = await setup(t, ['alice', 'bob', 'carol']);
  const alice = await online(s, 'alice');
  const bob = await online(s, 'bob');
  const carol = await online(s, 'carol');
  await befriend(alice, bob);
  await carol.send(subscription('subscribe', 'alice@localhost'));
  await carol.next(isPush('alice@localhost', 'none', 'subscribe'));
  await alice.next(isPresence('carol@localhost', 'subscribe'));
  await s.server.deleteAccount(Jid.parse('alice@localhost'));
  await bob.next(isPresence('alice@localhost', 'unsubscribed'));
  await bob.next(isPush('alice@localhost', 'none'));
  await carol.next(isPresence('alice@localhost', 'unsubscribed'));
  const push = await carol.next(isPush('alice@localhost', 'none'));
  assert.equal(push.getChild('query', ROSTER)!.getChild('item')!.attrs.ask, undefined);
  // Whoever gets the address next starts with an empty roster and no old requests.
  await s.createUser('alice');
  const alice2 = await s.connect('alice');
  assert.equal(await rosterItem(alice2, 'bob@localhost'), undefined);
  await alice2.nothing(isPresence('carol@localhost', 'subscribe'));
});

test('a subscription request to an account that does not exist is answered unsubscribed and clears the pending ask', async (t) => {
  const s = await setup(t, ['alice']);
  const alice = await online(s, 'alice');
  await alice.send(subscription('subscribe', 'ghost@localhost'));
  await alice.next(isPush('ghost@localhost', 'none', 'subscribe'));
  const answer = await alice.next(isPresence('ghost@localhost', 'unsubscribed'));
  assert.equal(answer.attrs.type, 'unsubscribed');
  const item = await rosterItem(alice, 'ghost@localhost');
  assert.equal(item?.attrs.ask, undefined);
});
