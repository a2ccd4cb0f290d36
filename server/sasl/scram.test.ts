import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { SaslFailure, type MechanismContext, type SaslBackend, type SaslExchange, type ScramCredentials } from './mechanism.js';
import {
  SCRAM_SHA_1,
  SCRAM_SHA_1_PLUS,
  SCRAM_SHA_256,
  SCRAM_SHA_256_PLUS,
  deriveScramCredentials,
  type ScramHash,
} from './scram.js';

// --- fixtures -----------------------------------------------------------------

/** A backend holding SCRAM credentials; records which usernames it was asked about. */
function scramBackend(users: Record<string, ScramCredentials[]>): SaslBackend & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async scramCredentials(username, hash) {
      asked.push(username);
      return users[username]?.find((c) => c.hash === hash) ?? null;
    },
    async verifyPassword() {
      throw new Error('PLAIN is not used in these tests');
    },
  };
}

function context(backend: SaslBackend, channelBinding: (() => Buffer | null) | null = null): MechanismContext {
  return { backend, secure: true, channelBinding };
}

const pencilUser = (hash: ScramHash) => ({ user: [deriveScramCredentials('pencil', hash)] });

/** Expect `promise` to reject with a SaslFailure of `condition`. */
async function assertFails(promise: Promise<unknown>, condition: SaslFailure['condition']): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SaslFailure, `expected SaslFailure, got ${String(err)}`);
    assert.equal(err.condition, condition);
    return true;
  });
}

const NODE_HASH = { 'SHA-1': 'sha1', 'SHA-256': 'sha256' } as const;
const HASH_LENGTH = { 'SHA-1': 20, 'SHA-256': 32 } as const;

/** The client side of RFC 5802 section 3, to produce client-final messages. */
function clientProof(hash: ScramHash, password: string, salt: Buffer, iterations: number, authMessage: string): string {
  const h = NODE_HASH[hash];
  const salted = pbkdf2Sync(password, salt, iterations, HASH_LENGTH[hash], h);
  const clientKey = createHmac(h, salted).update('Client Key').digest();
  const storedKey = createHash(h).update(clientKey).digest();
  const signature = createHmac(h, storedKey).update(authMessage).digest();
  return Buffer.from(clientKey.map((b, i) => b ^ signature[i]!)).toString('base64');
}

interface ClientOptions {
  hash: ScramHash;
  password: string;
  gs2Header?: string;
  cbData?: Buffer;
  username?: string;
  tamperNonce?: boolean;
}

/** Play a whole exchange as a client; returns the server-first message and the final step. */
async function runClient(exchange: SaslExchange, opts: ClientOptions) {
  const gs2Header = opts.gs2Header ?? 'n,,';
  const bare = `n=${opts.username ?? 'user'},r=clientnonce123`;
  const challenge = await exchange.step(Buffer.from(gs2Header + bare));
  assert.equal(challenge.kind, 'challenge');
  const serverFirst = challenge.data!.toString();
  const fields = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
  const nonce = opts.tamperNonce ? `${fields.r}x` : fields.r!;
  const cbind = Buffer.concat([Buffer.from(gs2Header), opts.cbData ?? Buffer.alloc(0)]).toString('base64');
  const withoutProof = `c=${cbind},r=${nonce}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const proof = clientProof(opts.hash, opts.password, Buffer.from(fields.s!, 'base64'), Number(fields.i), authMessage);
  const final = exchange.step(Buffer.from(`${withoutProof},p=${proof}`));
  return { serverFirst, final };
}

// --- RFC examples -------------------------------------------------------------

test('the RFC 5802 section 5 SCRAM-SHA-1 example produces the same server messages', async () => {
  const creds = deriveScramCredentials('pencil', 'SHA-1', 4096, Buffer.from('QSXCR+Q6sek8bf92', 'base64'));
  const exchange = SCRAM_SHA_1.start(context(scramBackend({ user: [creds] })), { nonce: () => '3rfcNHYJY1ZVvWVs7j' });

  const first = await exchange.step(Buffer.from('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL'));
  assert.deepEqual(first, {
    kind: 'challenge',
    data: Buffer.from('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096'),
  });
  const final = await exchange.step(
    Buffer.from('c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts='),
  );
  assert.deepEqual(final, { kind: 'success', username: 'user', data: Buffer.from('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=') });
  assert.equal(exchange.username, 'user');
});

test('the RFC 7677 section 3 SCRAM-SHA-256 example produces the same server messages', async () => {
  const creds = deriveScramCredentials('pencil', 'SHA-256', 4096, Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
  const exchange = SCRAM_SHA_256.start(context(scramBackend({ user: [creds] })), {
    nonce: () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  });

  const first = await exchange.step(Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
  assert.deepEqual(first, {
    kind: 'challenge',
    data: Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'),
  });
  const final = await exchange.step(
    Buffer.from(
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    ),
  );
  assert.deepEqual(final, {
    kind: 'success',
    username: 'user',
    data: Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='),
  });
});

// --- credential derivation ----------------------------------------------------

test('deriving credentials with fewer than 4096 iterations is refused', () => {
  assert.throws(() => deriveScramCredentials('pencil', 'SHA-256', 4095), RangeError);
});

test('derived credentials get a fresh 16-byte salt by default', () => {
  const a = deriveScramCredentials('pencil', 'SHA-256');
  const b = deriveScramCredentials('pencil', 'SHA-256');
  assert.equal(a.salt.length, 16);
  assert.notDeepEqual(a.salt, b.salt);
  assert.equal(a.storedKey.length, 32);
});

test('derivation SASLpreps the password so equivalent spellings give the same keys', () => {
  const salt = Buffer.alloc(16, 1);
  // U+00AD SOFT HYPHEN is mapped to nothing (RFC 4013 section 2.1).
  const plain = deriveScramCredentials('pencil', 'SHA-1', 4096, salt);
  const hyphenated = deriveScramCredentials('pen\u00ADcil', 'SHA-1', 4096, salt);
  assert.deepEqual(hyphenated.storedKey, plain.storedKey);
});

// --- authentication outcomes --------------------------------------------------

test('a correct password authenticates with SCRAM-SHA-256', async () => {
  const exchange = SCRAM_SHA_256.start(context(scramBackend(pencilUser('SHA-256'))));
  const { final } = await runClient(exchange, { hash: 'SHA-256', password: 'pencil' });
  const step = await final;
  assert.equal(step.kind, 'success');
  assert.match(step.kind === 'success' ? step.data!.toString() : '', /^v=[A-Za-z0-9+/]{43}=$/);
});

test('a wrong password fails with not-authorized', async () => {
  const exchange = SCRAM_SHA_256.start(context(scramBackend(pencilUser('SHA-256'))));
  const { final } = await runClient(exchange, { hash: 'SHA-256', password: 'crayon' });
  await assertFails(final, 'not-authorized');
  assert.equal(exchange.username, null);
});

test('an unknown user gets a normal-looking server-first message and then not-authorized', async () => {
  const backend = scramBackend({});
  const exchange = SCRAM_SHA_256.start(context(backend));
  const { serverFirst, final } = await runClient(exchange, { hash: 'SHA-256', password: 'pencil', username: 'nobody' });
  assert.match(serverFirst, /^r=clientnonce123[A-Za-z0-9+/=]+,s=[A-Za-z0-9+/]{22}==,i=4096$/);
  await assertFails(final, 'not-authorized');
});

test('an unknown user is offered the same fake salt every time', async () => {
  const salts = [];
  for (let i = 0; i < 2; i++) {
    const exchange = SCRAM_SHA_1.start(context(scramBackend({})));
    const step = await exchange.step(Buffer.from('n,,n=nobody,r=abc'));
    salts.push(step.kind === 'challenge' ? step.data.toString().split(',')[1] : '');
  }
  assert.equal(salts[0], salts[1]);
});

test('a tampered nonce in client-final fails with not-authorized', async () => {
  const exchange = SCRAM_SHA_256.start(context(scramBackend(pencilUser('SHA-256'))));
  const { final } = await runClient(exchange, { hash: 'SHA-256', password: 'pencil', tamperNonce: true });
  await assertFails(final, 'not-authorized');
});

test('a c= attribute that does not echo the gs2 header fails with not-authorized', async () => {
  const exchange = SCRAM_SHA_1.start(context(scramBackend(pencilUser('SHA-1'))), { nonce: () => 'server' });
  await exchange.step(Buffer.from('n,,n=user,r=client'));
  // "eSws" is base64 of "y,," instead of the "n,," the client sent.
  await assertFails(exchange.step(Buffer.from('c=eSws,r=clientserver,p=AAAAAAAAAAAAAAAAAAAAAAAAAAA=')), 'not-authorized');
});

// --- channel binding ----------------------------------------------------------

const exporter = Buffer.alloc(32, 7);

test('SCRAM-SHA-256-PLUS with the right tls-exporter bytes succeeds', async () => {
  const exchange = SCRAM_SHA_256_PLUS.start(context(scramBackend(pencilUser('SHA-256')), () => exporter));
  const { final } = await runClient(exchange, {
    hash: 'SHA-256',
    password: 'pencil',
    gs2Header: 'p=tls-exporter,,',
    cbData: exporter,
  });
  assert.equal((await final).kind, 'success');
});

test('SCRAM-SHA-1-PLUS with different tls-exporter bytes fails with not-authorized', async () => {
  const exchange = SCRAM_SHA_1_PLUS.start(context(scramBackend(pencilUser('SHA-1')), () => exporter));
  const { final } = await runClient(exchange, {
    hash: 'SHA-1',
    password: 'pencil',
    gs2Header: 'p=tls-exporter,,',
    cbData: Buffer.alloc(32, 8),
  });
  await assertFails(final, 'not-authorized');
});

test('a -PLUS mechanism refuses a channel-binding type other than tls-exporter', async () => {
  const exchange = SCRAM_SHA_256_PLUS.start(context(scramBackend(pencilUser('SHA-256')), () => exporter));
  await assertFails(exchange.step(Buffer.from('p=tls-unique,,n=user,r=abc')), 'malformed-request');
});

test('a -PLUS mechanism refuses a client that does not bind the channel', async () => {
  const exchange = SCRAM_SHA_256_PLUS.start(context(scramBackend(pencilUser('SHA-256')), () => exporter));
  await assertFails(exchange.step(Buffer.from('n,,n=user,r=abc')), 'malformed-request');
});

test('the "y" flag fails with not-authorized when the server offers -PLUS', async () => {
  const exchange = SCRAM_SHA_256.start(context(scramBackend(pencilUser('SHA-256')), () => exporter));
  await assertFails(exchange.step(Buffer.from('y,,n=user,r=abc')), 'not-authorized');
});

test('the "y" flag is accepted when the server does not offer -PLUS', async () => {
  const exchange = SCRAM_SHA_256.start(context(scramBackend(pencilUser('SHA-256'))));
  const { final } = await runClient(exchange, { hash: 'SHA-256', password: 'pencil', gs2Header: 'y,,' });
  assert.equal((await final).kind, 'success');
});

test('a non-PLUS mechanism refuses the "p" flag', async () => {
  const exchange = SCRAM_SHA_1.start(context(scramBackend(pencilUser('SHA-1')), () => exporter));
  await assertFails(exchange.step(Buffer.from('p=tls-exporter,,n=user,r=abc')), 'malformed-request');
});

test('-PLUS mechanisms are available only when channel binding is', () => {
  assert.equal(SCRAM_SHA_256_PLUS.available({ secure: true, channelBindingAvailable: false }), false);
  assert.equal(SCRAM_SHA_256_PLUS.available({ secure: true, channelBindingAvailable: true }), true);
  assert.equal(SCRAM_SHA_1.available({ secure: true, channelBindingAvailable: false }), true);
});

test('the mechanisms carry their IANA names', () => {
  const names = [SCRAM_SHA_1, SCRAM_SHA_256, SCRAM_SHA_1_PLUS, SCRAM_SHA_256_PLUS].map((m) => m.name);
  assert.deepEqual(names, ['SCRAM-SHA-1', 'SCRAM-SHA-256', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256-PLUS']);
});

// --- message syntax -----------------------------------------------------------

test('an exchange without an initial response starts with an empty challenge', async () => {
  const exchange = SCRAM_SHA_256.start(context(scramBackend(pencilUser('SHA-256'))));
  assert.deepEqual(await exchange.step(null), { kind: 'challenge', data: Buffer.alloc(0) });
  const { final } = await runClient(exchange, { hash: 'SHA-256', password: 'pencil' });
  assert.equal((await final).kind, 'success');
});

test('escaped "," and "=" in the username are decoded before the backend sees it', async () => {
  const backend = scramBackend({});
  const exchange = SCRAM_SHA_256.start(context(backend));
  await exchange.step(Buffer.from('n,,n=a=2Cb=3Dc,r=abc'));
  assert.deepEqual(backend.asked, ['a,b=c']);
  assert.equal(exchange.attemptedUsername, 'a,b=c');
});

test('an "=" escape other than =2C or =3D in the username is malformed', async () => {
  const exchange = SCRAM_SHA_256.start(context(scramBackend({})));
  await assertFails(exchange.step(Buffer.from('n,,n=a=41,r=abc')), 'malformed-request');
});

test('a mandatory extension in client-first is malformed', async () => {
  const exchange = SCRAM_SHA_256.start(context(scramBackend(pencilUser('SHA-256'))));
  await assertFails(exchange.step(Buffer.from('n,,m=ext,n=user,r=abc')), 'malformed-request');
});

test('a client-first message without a gs2 header is malformed', async () => {
  const exchange = SCRAM_SHA_256.start(context(scramBackend(pencilUser('SHA-256'))));
  await assertFails(exchange.step(Buffer.from('n=user,r=abc')), 'malformed-request');
});

test('a proof that is not base64 fails with incorrect-encoding', async () => {
  const exchange = SCRAM_SHA_1.start(context(scramBackend(pencilUser('SHA-1'))), { nonce: () => 'server' });
  await exchange.step(Buffer.from('n,,n=user,r=client'));
  await assertFails(exchange.step(Buffer.from('c=biws,r=clientserver,p=not*base64')), 'incorrect-encoding');
});

test('an authzid naming someone else fails with invalid-authzid', async () => {
  const exchange = SCRAM_SHA_256.start(context(scramBackend(pencilUser('SHA-256'))));
  await assertFails(exchange.step(Buffer.from('n,a=admin,n=user,r=abc')), 'invalid-authzid');
});

test('an authzid equal to the user bare JID is accepted when the domain is known', async () => {
  const ctx = { ...context(scramBackend(pencilUser('SHA-256'))), domain: 'example.com' };
  const exchange = SCRAM_SHA_256.start(ctx);
  const { final } = await runClient(exchange, { hash: 'SHA-256', password: 'pencil', gs2Header: 'n,a=user@example.com,' });
  assert.equal((await final).kind, 'success');
});

test('a backend error becomes temporary-auth-failure', async () => {
  const backend: SaslBackend = {
    scramCredentials: async () => {
      throw new Error('database is locked');
    },
    verifyPassword: async () => false,
  };
  const exchange = SCRAM_SHA_256.start(context(backend));
  await assertFails(exchange.step(Buffer.from('n,,n=user,r=abc')), 'temporary-auth-failure');
});

test('a step after success is refused', async () => {
  const exchange = SCRAM_SHA_256.start(context(scramBackend(pencilUser('SHA-256'))));
  const { final } = await runClient(exchange, { hash: 'SHA-256', password: 'pencil' });
  await final;
  await assertFails(exchange.step(Buffer.from('c=biws')), 'malformed-request');
});
