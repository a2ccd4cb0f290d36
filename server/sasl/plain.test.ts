import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SaslFailure, type MechanismContext, type SaslBackend } from './mechanism.js';
import { PLAIN } from './plain.js';

/** A backend with one account, "juliet" / "r0m30myr0m30"; records the checks it was asked to make. */
function plainBackend(): SaslBackend & { checked: Array<[string, string]> } {
  const checked: Array<[string, string]> = [];
  return {
    checked,
    async scramCredentials() {
      return null;
    },
    async verifyPassword(username, password) {
      checked.push([username, password]);
      return username === 'juliet' && password === 'r0m30myr0m30';
    },
  };
}

function context(backend: SaslBackend, extra: Partial<MechanismContext> = {}): MechanismContext {
  return { backend, secure: true, channelBinding: null, ...extra };
}

const message = (authzid: string, authcid: string, passwd: string) => Buffer.from(`${authzid}\0${authcid}\0${passwd}`);

async function assertFails(promise: Promise<unknown>, condition: SaslFailure['condition']): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SaslFailure, `expected SaslFailure, got ${String(err)}`);
    assert.equal(err.condition, condition);
    return true;
  });
}

test('the right password authenticates', async () => {
  const exchange = PLAIN.start(context(plainBackend()));
  assert.deepEqual(await exchange.step(message('', 'juliet', 'r0m30myr0m30')), { kind: 'success', username: 'juliet' });
  assert.equal(exchange.username, 'juliet');
});

test('a wrong password fails with not-authorized', async () => {
  const exchange = PLAIN.start(context(plainBackend()));
  await assertFails(exchange.step(message('', 'juliet', 'wrong')), 'not-authorized');
  assert.equal(exchange.username, null);
  assert.equal(exchange.attemptedUsername, 'juliet');
});

test('an authzid naming someone else fails with invalid-authzid', async () => {
  const backend = plainBackend();
  const exchange = PLAIN.start(context(backend));
  await assertFails(exchange.step(message('romeo', 'juliet', 'r0m30myr0m30')), 'invalid-authzid');
  assert.deepEqual(backend.checked, []);
});

test('an authzid equal to the authcid is accepted', async () => {
  const exchange = PLAIN.start(context(plainBackend()));
  assert.equal((await exchange.step(message('juliet', 'juliet', 'r0m30myr0m30'))).kind, 'success');
});

test('an authzid equal to the bare JID is accepted when the domain is known', async () => {
  const exchange = PLAIN.start(context(plainBackend(), { domain: 'example.com' }));
  assert.equal((await exchange.step(message('juliet@Example.com', 'juliet', 'r0m30myr0m30'))).kind, 'success');
});

test('the authcid and password are SASLprepped before the backend sees them', async () => {
  const backend = plainBackend();
  const exchange = PLAIN.start(context(backend));
  // U+00AD is mapped to nothing and U+00A0 to a space (RFC 4013 section 2.1).
  await assertFails(exchange.step(message('', 'jul\u00ADiet', 'a\u00A0b')), 'not-authorized');
  assert.deepEqual(backend.checked, [['juliet', 'a b']]);
});

test('a message without two NUL separators is malformed', async () => {
  const exchange = PLAIN.start(context(plainBackend()));
  await assertFails(exchange.step(Buffer.from('juliet\0r0m30myr0m30')), 'malformed-request');
});

test('an empty password is malformed', async () => {
  const exchange = PLAIN.start(context(plainBackend()));
  await assertFails(exchange.step(message('', 'juliet', '')), 'malformed-request');
});

test('a message that is not UTF-8 is malformed', async () => {
  const exchange = PLAIN.start(context(plainBackend()));
  await assertFails(exchange.step(Buffer.from([0, 0x6a, 0, 0xff, 0xfe])), 'malformed-request');
});

test('a password with a prohibited character is malformed', async () => {
  const exchange = PLAIN.start(context(plainBackend()));
  await assertFails(exchange.step(message('', 'juliet', 'bell\u0007')), 'malformed-request');
});

test('an exchange without an initial response starts with an empty challenge', async () => {
  const exchange = PLAIN.start(context(plainBackend()));
  assert.deepEqual(await exchange.step(null), { kind: 'challenge', data: Buffer.alloc(0) });
  assert.equal((await exchange.step(message('', 'juliet', 'r0m30myr0m30'))).kind, 'success');
});

test('an unreachable backend fails with temporary-auth-failure', async () => {
  const backend: SaslBackend = {
    scramCredentials: async () => null,
    verifyPassword: async () => {
      throw new SaslFailure('temporary-auth-failure', 'LDAP server unreachable');
    },
  };
  const exchange = PLAIN.start(context(backend));
  await assertFails(exchange.step(message('', 'juliet', 'r0m30myr0m30')), 'temporary-auth-failure');
});

test('PLAIN is refused on an unencrypted stream', async () => {
  const exchange = PLAIN.start(context(plainBackend(), { secure: false }));
  await assertFails(exchange.step(message('', 'juliet', 'r0m30myr0m30')), 'encryption-required');
});

test('PLAIN is available only on a secure stream', () => {
  assert.equal(PLAIN.available({ secure: false, channelBindingAvailable: false }), false);
  assert.equal(PLAIN.available({ secure: true, channelBindingAvailable: false }), true);
});
