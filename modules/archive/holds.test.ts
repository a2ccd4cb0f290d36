import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openArchiveDb } from '../../test/kit/archive.js';
import { activeHoldCoversSql, coversRecord, HoldError, listHolds, placeHold, releaseHold } from './holds.js';
import { ArchiveStore } from './store.js';

const at = (iso: string) => Date.parse(iso);
const store = () => new ArchiveStore(openArchiveDb().db);

function append(s: ArchiveStore, iso: string, from: string, to: string, room = ''): number {
  const [r] = s.append([{
    record: {
      id: randomUUID(), ts: at(iso), kind: 'message', type: room ? 'groupchat' : 'chat', sender: from, sender_bare: from,
      recipient: room || to, recipient_bare: room || to, room, direction: 'internal', outcome: 'allowed', decision: '',
      body: 'hello', subject: '', thread: '', stanza: '', delivered: '', retain_until: '2019-01-01', meta: '', signature: '',
    },
    views: [],
  }]);
  return r!.seq;
}

const coveredSeqs = (s: ArchiveStore) =>
  (s.db.prepare(`SELECT seq FROM records r WHERE ${activeHoldCoversSql('r')} ORDER BY seq`).all() as { seq: number }[]).map((r) => r.seq);

test('a hold stores its JIDs as lower-cased bare JIDs, once each', () => {
  const s = store();
  const hold = placeHold(s, { name: 'Matter 12', jids: ['Alice@Example.COM/phone', 'alice@example.com', 'Trading@Rooms.Example.com'], reason: 'subpoena', placedBy: 'os:compliance' }, 1000);

  assert.deepEqual(hold.jids, ['alice@example.com', 'trading@rooms.example.com']);
  assert.deepEqual(listHolds(s), [hold]);
  assert.deepEqual({ ...hold, id: '' }, {
    id: '', name: 'Matter 12', jids: ['alice@example.com', 'trading@rooms.example.com'], start: null, end: null, reason: 'subpoena',
    placedBy: 'os:compliance', placedAt: 1000, releasedBy: null, releasedAt: null,
  });
});

test('a hold without people, without a name, with a bad JID or an inverted range is refused', () => {
  const s = store();
  assert.throws(() => placeHold(s, { name: 'Empty', jids: [], placedBy: 'os:compliance' }), HoldError);
  assert.throws(() => placeHold(s, { name: ' ', jids: ['alice@example.com'], placedBy: 'os:compliance' }), HoldError);
  assert.throws(() => placeHold(s, { name: 'Bad', jids: ['@@'], placedBy: 'os:compliance' }), HoldError);
  assert.throws(() => placeHold(s, { name: 'Inverted', jids: ['alice@example.com'], start: 2, end: 1, placedBy: 'os:compliance' }), HoldError);
  assert.deepEqual(listHolds(s, { includeReleased: true }), []);
});

test('a released hold records who released it, leaves the active list, and cannot be released again', () => {
  const s = store();
  const hold = placeHold(s, { name: 'Matter 12', jids: ['alice@example.com'], placedBy: 'os:compliance' }, 1000);

  const released = releaseHold(s, hold.id, 'carol@example.com', 2000);

  assert.equal(released.releasedBy, 'carol@example.com');
  assert.equal(released.releasedAt, 2000);
  assert.deepEqual(listHolds(s), []);
  assert.deepEqual(listHolds(s, { includeReleased: true }), [released]);
  assert.throws(() => releaseHold(s, hold.id, 'carol@example.com'), HoldError);
  assert.throws(() => releaseHold(s, 'no-such-hold', 'carol@example.com'), HoldError);
});

test('a hold covers a record when a participant or the room is named and the time is in its range', () => {
  const s = store();
  const early = append(s, '2018-01-09T12:00:00Z', 'alice@example.com', 'bob@example.com');
  const inRange = append(s, '2018-01-10T12:00:00Z', 'bob@example.com', 'alice@example.com');
  const otherPeople = append(s, '2018-01-10T12:00:00Z', 'carol@example.com', 'dave@example.com');
  const inRoom = append(s, '2018-01-10T13:00:00Z', 'erin@example.com', '', 'trading@rooms.example.com');
  const late = append(s, '2018-01-12T12:00:00Z', 'alice@example.com', 'bob@example.com');
  const hold = placeHold(s, {
    name: 'Week 2', jids: ['alice@example.com', 'trading@rooms.example.com'],
    start: at('2018-01-10T00:00:00Z'), end: at('2018-01-11T23:59:59.999Z'), placedBy: 'os:compliance',
  });

  assert.deepEqual(coveredSeqs(s), [inRange, inRoom]);
  const covered = [...s.iterate()].filter((r) => coversRecord(hold, r)).map((r) => r.seq);
  assert.deepEqual(covered, [inRange, inRoom], 'the in-memory rule agrees with the SQL');
  assert.ok(![early, otherPeople, late].some((seq) => covered.includes(seq)));
});

test('open ends cover all time on that side, and a released hold covers nothing', () => {
  const s = store();
  const old = append(s, '2010-01-01T00:00:00Z', 'alice@example.com', 'bob@example.com');
  const recent = append(s, '2018-06-01T00:00:00Z', 'alice@example.com', 'bob@example.com');
  const hold = placeHold(s, { name: 'Until June', jids: ['bob@example.com'], end: at('2018-05-31T23:59:59Z'), placedBy: 'os:compliance' });

  assert.deepEqual(coveredSeqs(s), [old]);
  assert.equal(coversRecord(hold, s.bySeq(recent)!), false);

  const released = releaseHold(s, hold.id, 'os:compliance');

  assert.deepEqual(coveredSeqs(s), []);
  assert.equal(coversRecord(released, s.bySeq(old)!), false);
});
