import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SaslprepError, saslprep } from './saslprep.js';

function assertRefused(input: string, reason: SaslprepError['reason'], opts = {}): void {
  assert.throws(
    () => saslprep(input, opts),
    (err: unknown) => err instanceof SaslprepError && err.reason === reason,
  );
}

// The examples of RFC 4013 section 3.

test('a soft hyphen is mapped to nothing', () => {
  assert.equal(saslprep('I\u00ADX'), 'IX');
});

test('a plain lower-case name is unchanged', () => {
  assert.equal(saslprep('user'), 'user');
});

test('case is preserved', () => {
  assert.equal(saslprep('USER'), 'USER');
});

test('the feminine ordinal indicator is normalized to "a"', () => {
  assert.equal(saslprep('\u00AA'), 'a');
});

test('the Roman numeral nine is normalized to "IX"', () => {
  assert.equal(saslprep('\u2168'), 'IX');
});

test('a control character is prohibited', () => {
  assertRefused('\u0007', 'prohibited');
});

test('a right-to-left string ending in a left-to-right character violates the bidi rules', () => {
  assertRefused('\u0627\u0031', 'bidi');
});

// Further cases from RFC 3454 and RFC 4013.

test('non-ASCII spaces are mapped to an ASCII space', () => {
  assert.equal(saslprep('a\u00A0b\u3000c'), 'a b c');
});

test('a zero-width space is mapped to nothing', () => {
  assert.equal(saslprep('a\u200Bb'), 'ab');
});

test('a private-use character is prohibited', () => {
  assertRefused('a\uE000', 'prohibited');
});

test('a lone surrogate is prohibited', () => {
  assertRefused('a\uD800', 'prohibited');
});

test('a non-character code point is prohibited', () => {
  assertRefused('a\uFDD0', 'prohibited');
});

test('a right-to-left string mixed with Latin letters violates the bidi rules', () => {
  assertRefused('\u05D0a\u05D1', 'bidi');
});

test('a right-to-left string that starts and ends with right-to-left characters is accepted', () => {
  assert.equal(saslprep('\u05D0\u0031\u05D1'), '\u05D0\u0031\u05D1');
});

test('an unassigned code point is refused in a stored string', () => {
  assertRefused('a\u0378', 'unassigned');
});

test('an unassigned code point is allowed in a query string', () => {
  assert.equal(saslprep('a\u0378', { allowUnassigned: true }), 'a\u0378');
});

test('the error message does not reveal the offending character', () => {
  assert.throws(() => saslprep('secret\u0007'), (err: unknown) => err instanceof Error && !err.message.includes('secret') && !/U\+|0007/.test(err.message));
});
