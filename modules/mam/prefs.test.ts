import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml, type KeyValueStore } from '../../server/api/index.js';
import type { ViewFilter } from '../archive/service.js';
import { ArchivePreferences, parsePrefs, type DefaultPreference, type Preferences } from './prefs.js';

const BOB = 'bob@example.com';

/** The key/value store the host gives a module, in memory. */
function memoryStore<T>(): KeyValueStore<T> {
  const data = new Map<string, Map<string, T>>();
  return {
    get: (owner, key) => data.get(owner)?.get(key),
    set: (owner, key, value) => { if (!data.has(owner)) data.set(owner, new Map()); data.get(owner)!.set(key, value); },
    delete: (owner, key) => { data.get(owner)?.delete(key); },
    keys: (owner) => [...(data.get(owner)?.keys() ?? [])],
    clear: (owner) => { data.delete(owner); },
  };
}

type RecordInput = Parameters<ViewFilter>[2];

/** A record as capture writes it, reduced to what the filter reads. */
const message = (from: string, to: string) => ({ sender: from, sender_bare: from.split('/')[0]!, recipient: to, recipient_bare: to.split('/')[0]! }) as RecordInput;

function preferences(serverDefault: DefaultPreference = 'always', roster: string[] | null = []) {
  const errors: unknown[] = [];
  const prefs = new ArchivePreferences(memoryStore<Preferences>(), serverDefault,
    (_owner, contact) => (roster === null ? undefined : roster.includes(contact)), (err) => errors.push(err));
  /** Whether bob sees a message between him and `other` (incoming when `incoming`). */
  const sees = (other: string, incoming = true) => {
    const record = incoming ? message(other, BOB) : message(`${BOB}/desk`, other);
    return prefs.keepsInView(BOB, other.split('/')[0]!, record);
  };
  return { prefs, sees, errors };
}

test('without preferences the server default applies', () => {
  assert.equal(preferences('always').sees('alice@example.com/phone'), true);
  assert.equal(preferences('never').sees('alice@example.com/phone'), false);
  const roster = preferences('roster', ['alice@example.com']);
  assert.equal(roster.sees('alice@example.com/phone'), true);
  assert.equal(roster.sees('carol@example.com/phone'), false);
  // Nobody is in their own roster, but messages to oneself are kept.
  assert.equal(roster.prefs.keepsInView(BOB, BOB, message(`${BOB}/desk`, `${BOB}/phone`)), true);
  // Without rosters on the server, 'roster' keeps everything.
  assert.equal(preferences('roster', null).sees('carol@example.com/phone'), true);
});

test('a listed bare JID matches every resource; a listed full JID only that address, as sender or recipient', () => {
  const { prefs, sees } = preferences();
  prefs.set(BOB, { default: 'always', always: [], never: ['alice@example.com', 'carol@example.com/phone'] });
  assert.equal(sees('alice@example.com/phone'), false);
  assert.equal(sees('alice@example.com', false), false);
  assert.equal(sees('carol@example.com/phone'), false);
  assert.equal(sees('carol@example.com/phone', false), false);
  assert.equal(sees('carol@example.com/laptop'), true);
  assert.equal(sees('carol@example.com', false), true);
  assert.equal(sees('dave@example.com/x'), true);
});

test('always overrides a never default, and never wins over always for a JID in both lists', () => {
  const { prefs, sees } = preferences();
  prefs.set(BOB, { default: 'never', always: ['alice@example.com', 'carol@example.com'], never: ['carol@example.com'] });
  assert.equal(sees('alice@example.com/phone'), true);
  assert.equal(sees('carol@example.com/phone'), false);
  assert.equal(sees('dave@example.com/phone'), false);
  // Setting again replaces the cached decision.
  prefs.set(BOB, { default: 'always', always: [], never: [] });
  assert.equal(sees('dave@example.com/phone'), true);
});

test('a failing roster lookup keeps the message in the view and is reported', () => {
  const errors: unknown[] = [];
  const prefs = new ArchivePreferences(memoryStore<Preferences>(), 'roster', () => { throw new Error('roster down'); }, (err) => errors.push(err));
  assert.equal(prefs.keepsInView(BOB, 'alice@example.com', message('alice@example.com/phone', BOB)), true);
  assert.equal(errors.length, 1);
});

test('preference sets are read with prepared JIDs, without duplicates, and refused when malformed', () => {
  const el = xml('prefs', { xmlns: 'urn:xmpp:mam:2', default: 'never' },
    xml('always', {}, xml('jid', {}, 'Alice@Example.COM'), xml('jid', {}, 'alice@example.com'), xml('jid', {}, 'room@conf.example.com/Nick')));
  assert.deepEqual(parsePrefs(el, true), { default: 'never', always: ['alice@example.com', 'room@conf.example.com/Nick'], never: [] });
  const refused = (e: ReturnType<typeof xml>, rosters = true) => {
    try { parsePrefs(e, rosters); } catch (err) { return (err as { condition: string }).condition; }
    return 'accepted';
  };
  assert.equal(refused(xml('prefs', { xmlns: 'urn:xmpp:mam:2' })), 'bad-request');
  assert.equal(refused(xml('prefs', { xmlns: 'urn:xmpp:mam:2', default: 'always' }, xml('never', {}, xml('jid', {}, 'a@b@c')))), 'bad-request');
  assert.equal(refused(xml('prefs', { xmlns: 'urn:xmpp:mam:2', default: 'roster' }), false), 'not-acceptable');
  assert.equal(refused(xml('prefs', { xmlns: 'urn:xmpp:mam:2', default: 'always' },
    xml('never', {}, ...Array.from({ length: 1001 }, (_, i) => xml('jid', {}, `u${i}@example.com`))))), 'not-acceptable');
});
