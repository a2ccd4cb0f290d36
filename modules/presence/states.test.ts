import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grantsFrom, inboundTransition, outboundTransition, stateName, stateParts, type StateName } from './states.js';

const ALL: StateName[] = ['None', 'None + Pending Out', 'None + Pending In', 'None + Pending Out/In',
  'To', 'To + Pending In', 'From', 'From + Pending Out', 'Both'];

test('every state name maps to its stored parts and back', () => {
  for (const name of ALL) assert.equal(stateName(stateParts(name)), name);
});

test('an outbound subscribe is always routed and only adds pending out', () => {
  for (const name of ALL) {
    const t = outboundTransition('subscribe', stateParts(name));
    assert.equal(t.goesOn, true, name);
    const after = stateParts(t.after ?? name);
    assert.equal(after.subscription === 'to' || after.subscription === 'both' || after.pendingOut, true, name);
  }
});

test('an approval is routed only when a request is pending in (A.2.3)', () => {
  for (const name of ALL) {
    const t = outboundTransition('subscribed', stateParts(name));
    assert.equal(t.goesOn, stateParts(name).pendingIn, name);
    if (t.goesOn) assert.ok(grantsFrom(t.after!), name);
  }
});

test('the inbound tables follow RFC 6121 A.3', () => {
  assert.deepEqual(inboundTransition('subscribe', stateParts('None')), { goesOn: true, before: 'None', after: 'None + Pending In' });
  assert.deepEqual(inboundTransition('subscribe', stateParts('Both')), { goesOn: false, before: 'Both', after: null });
  assert.deepEqual(inboundTransition('subscribed', stateParts('From + Pending Out')), { goesOn: true, before: 'From + Pending Out', after: 'Both' });
  assert.deepEqual(inboundTransition('subscribed', stateParts('To')), { goesOn: false, before: 'To', after: null });
  assert.deepEqual(inboundTransition('unsubscribe', stateParts('Both')), { goesOn: true, before: 'Both', after: 'To' });
  assert.deepEqual(inboundTransition('unsubscribed', stateParts('To + Pending In')), { goesOn: true, before: 'To + Pending In', after: 'None + Pending In' });
});

test('a cancelled subscription loses from on the sender side (A.2.4)', () => {
  assert.equal(outboundTransition('unsubscribed', stateParts('Both')).after, 'To');
  assert.equal(outboundTransition('unsubscribed', stateParts('From + Pending Out')).after, 'None + Pending Out');
  assert.equal(outboundTransition('unsubscribed', stateParts('None + Pending In')).after, 'None');
  assert.equal(outboundTransition('unsubscribed', stateParts('To')).goesOn, false);
});
