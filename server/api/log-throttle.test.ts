import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogThrottle } from './log-throttle.js';

test('a log throttle lets the first occurrence through, then one per interval with the count since the last', () => {
  const t = new LogThrottle(10_000);
  assert.equal(t.note(1, 1_000), 1);
  assert.equal(t.note(1, 2_000), 0);
  assert.equal(t.note(3, 5_000), 0);
  assert.equal(t.note(1, 11_000), 5);
  assert.equal(t.note(1, 12_000), 0);
  assert.equal(t.note(2, 21_000), 3);
});
