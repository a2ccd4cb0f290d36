import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Jid, JidError, jidCacheStats } from './jid.js';

/** Asserts that parsing fails with a JidError whose message matches. */
function assertInvalid(input: string, message: RegExp): void {
  assert.throws(() => Jid.parse(input), (err: unknown) => {
    assert.ok(err instanceof JidError, `expected a JidError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

function assertParts(input: string, local: string, domain: string, resource: string): void {
  const jid = Jid.parse(input);
  assert.deepEqual({ local: jid.local, domain: jid.domain, resource: jid.resource }, { local, domain, resource });
}

describe('RFC 7622 section 3.5.1 valid JIDs', () => {
  const examples: Array<[string, string, string, string, string]> = [
    ['juliet@example.com', 'juliet', 'example.com', '', 'a bare JID'],
    ['juliet@example.com/foo', 'juliet', 'example.com', 'foo', 'a full JID'],
    ['juliet@example.com/foo bar', 'juliet', 'example.com', 'foo bar', 'a resourcepart with a space'],
    ['juliet@example.com/foo@bar', 'juliet', 'example.com', 'foo@bar', "a resourcepart with an '@'"],
    ['foo\\20bar@example.com', 'foo\\20bar', 'example.com', '', 'a localpart with XEP-0106 escaping'],
    ['fussball@example.com', 'fussball', 'example.com', '', 'a plain ASCII localpart'],
    ['fußball@example.com', 'fußball', 'example.com', '', "a localpart with 'ß'"],
    ['π@example.com', 'π', 'example.com', '', 'a Greek localpart'],
    ['Σ@example.com/foo', 'σ', 'example.com', 'foo', 'an upper-case sigma, prepared to lower case'],
    ['σ@example.com/foo', 'σ', 'example.com', 'foo', 'a lower-case sigma'],
    ['ς@example.com/foo', 'ς', 'example.com', 'foo', 'a final sigma'],
    ['king@example.com/♚', 'king', 'example.com', '♚', 'a symbol in the resourcepart'],
    ['example.com', '', 'example.com', '', 'a domain JID'],
    ['example.com/foobar', '', 'example.com', 'foobar', 'a domain JID with a resource'],
    ['a.example.com/b@example.net', '', 'a.example.com', 'b@example.net', 'a resource that looks like a JID'],
  ];
  for (const [input, local, domain, resource, what] of examples) {
    test(`it accepts ${input} (${what})`, () => {
      assertParts(input, local, domain, resource);
    });
  }
});

describe('RFC 7622 section 3.5.2 invalid JIDs', () => {
  test('it rejects "juliet"@example.com because the double quote is forbidden in localparts', () => {
    assertInvalid('"juliet"@example.com', /localpart contains U\+0022/);
  });

  test('it rejects foo bar@example.com because a localpart cannot contain a space', () => {
    assertInvalid('foo bar@example.com', /localpart contains U\+0020/);
  });

  test('it rejects @example.com/ because the localpart and the resourcepart are empty', () => {
    assertInvalid('@example.com/', /localpart is empty/);
  });

  test('it rejects henry\u2163@example.com because ROMAN NUMERAL FOUR is not a letter or digit', () => {
    assertInvalid('henry\u2163@example.com', /localpart contains U\+2173/);
  });

  test('it rejects ♚@example.com because symbols are not allowed in localparts', () => {
    assertInvalid('♚@example.com', /localpart contains U\+265A/);
  });

  test('it rejects juliet@ because the domainpart is empty', () => {
    assertInvalid('juliet@', /domainpart is empty/);
  });

  test('it rejects /foobar because the domainpart is empty', () => {
    assertInvalid('/foobar', /domainpart is empty/);
  });

  // RFC 7622 lists this as invalid, claiming OpaqueString disallows a leading
  // space; it does not (RFC 8265 §4.2 has no such rule), and the example was
  // reported as an erratum. We follow the profile.
  test('it accepts juliet@example.com/ foo because OpaqueString allows a leading space', () => {
    assertParts('juliet@example.com/ foo', 'juliet', 'example.com', ' foo');
  });
});

describe('splitting', () => {
  test('it keeps every slash after the first one in the resourcepart', () => {
    assertParts('juliet@example.com/foo/bar@baz', 'juliet', 'example.com', 'foo/bar@baz');
  });

  test('it rejects a second @ in the bare part', () => {
    assertInvalid('a@b@example.com', /domainpart/);
  });

  test('it rejects an empty string', () => {
    assertInvalid('', /JID is empty/);
  });

  test('it rejects an empty resourcepart after a slash', () => {
    assertInvalid('juliet@example.com/', /resourcepart is empty/);
  });
});

describe('localpart preparation (UsernameCaseMapped)', () => {
  test('it folds the case of the localpart and domainpart but not of the resourcepart', () => {
    assert.equal(Jid.parse('Juliet@Example.COM/Balcony').full, 'juliet@example.com/Balcony');
  });

  test('it treats fußball and fussball as different localparts', () => {
    assert.equal(Jid.parse('fußball@example.com').equals(Jid.parse('fussball@example.com')), false);
  });

  test('it keeps the final sigma distinct from the ordinary sigma', () => {
    assert.equal(Jid.parse('ς@example.com').equals(Jid.parse('σ@example.com')), false);
  });

  test('it maps fullwidth letters to their ASCII forms', () => {
    assert.equal(Jid.parse('\uff2a\uff35\uff2c\uff29\uff25\uff34@example.com').local, 'juliet');
  });

  test('it maps halfwidth katakana to the composed fullwidth form', () => {
    assert.equal(Jid.parse('\uff76\uff9e@example.com').local, '\u30ac');
  });

  test('it normalises a decomposed accent to NFC', () => {
    assert.equal(Jid.parse('jose\u0301@example.com').local, 'jos\u00e9');
  });

  test('it rejects a fullwidth @ because it maps to a forbidden character', () => {
    assertInvalid('a\uff20b@example.com', /localpart contains U\+0040/);
  });

  test('it rejects each character RFC 7622 forbids in localparts', () => {
    for (const ch of ['"', '&', "'", ':', '<', '>']) {
      assertInvalid(`a${ch}b@example.com`, /forbidden in localparts/);
    }
  });

  test('it rejects a ligature because it has a compatibility equivalent', () => {
    assertInvalid('\ufb00@example.com', /compatibility equivalents/);
  });

  test('it rejects a zero width joiner in a localpart', () => {
    assertInvalid('a\u200db@example.com', /localpart contains U\+200D/);
  });

  test('it accepts a middle dot only between two l as in Catalan', () => {
    assert.equal(Jid.parse('col\u00b7la@example.com').local, 'col\u00b7la');
    assertInvalid('co\u00b7lla@example.com', /only allowed between two "l"/);
  });

  test('it rejects a control character in a localpart', () => {
    assertInvalid('a\tb@example.com', /localpart contains U\+0009/);
  });
});

describe('resourcepart preparation (OpaqueString)', () => {
  test('it maps a no-break space to an ordinary space', () => {
    assert.equal(Jid.parse('example.com/a\u00a0b').resource, 'a b');
  });

  test('it normalises the resourcepart to NFC', () => {
    assert.equal(Jid.parse('example.com/Re\u0301sume\u0301').resource, 'R\u00e9sum\u00e9');
  });

  test('it keeps fullwidth characters in the resourcepart as they are', () => {
    assert.equal(Jid.parse('example.com/\uff32').resource, '\uff32');
  });

  test('it rejects a control character in the resourcepart', () => {
    assertInvalid('example.com/a\u0000b', /resourcepart contains U\+0000/);
  });

  test('it rejects an unassigned code point in the resourcepart', () => {
    assertInvalid('example.com/\u0378', /resourcepart contains U\+0378/);
  });

  test('it rejects a private-use character in the resourcepart', () => {
    assertInvalid('example.com/\ue000', /resourcepart contains U\+E000/);
  });
});

describe('domainpart preparation', () => {
  test('it strips one trailing dot', () => {
    assert.equal(Jid.parse('juliet@example.com./foo').full, 'juliet@example.com/foo');
  });

  test('it rejects a domainpart ending in two dots', () => {
    assertInvalid('example.com..', /empty label/);
  });

  test('it rejects an empty label', () => {
    assertInvalid('a..example.com', /empty label/);
  });

  test('it keeps an internationalised domain in Unicode form', () => {
    assert.equal(Jid.parse('juliet@B\u00dcCHER.example').domain, 'b\u00fccher.example');
  });

  test('it converts an A-label to its U-label', () => {
    assert.equal(Jid.parse('juliet@xn--bcher-kva.example').domain, 'b\u00fccher.example');
  });

  test('it rejects an A-label that does not decode', () => {
    assertInvalid('xn--zz.example', /not a valid A-label/);
  });

  test('it accepts an IPv6 literal', () => {
    assert.equal(Jid.parse('juliet@[::1]/foo').domain, '[::1]');
  });

  test('it writes an IPv6 literal in canonical form', () => {
    assert.equal(Jid.parse('[2001:DB8:0:0::1]').domain, '[2001:db8::1]');
  });

  test('it accepts an IPv4 address', () => {
    assert.equal(Jid.parse('juliet@127.0.0.1').domain, '127.0.0.1');
  });

  test('it rejects a malformed IPv6 literal', () => {
    assertInvalid('[::g]', /not a valid IPv6 literal/);
  });

  test('it rejects characters not allowed in host names', () => {
    for (const domain of ['exa mple.com', 'exa_mple.com', 'example.com:5222', 'exa!mple.com']) {
      assertInvalid(`juliet@${domain}`, /not allowed in host names/);
    }
  });

  test('it rejects a label starting with a hyphen', () => {
    assertInvalid('-example.com', /starts or ends with a hyphen/);
  });

  test('it rejects a symbol in an internationalised label', () => {
    assertInvalid('\u265a.example', /domainpart contains U\+265A/);
  });

  test('it rejects a dotted number that is not an IPv4 address', () => {
    assertInvalid('999.1.1.1', /not a valid IPv4 address/);
  });
});

describe('length limits', () => {
  test('it accepts a localpart of 1023 bytes', () => {
    assert.equal(Jid.parse(`${'a'.repeat(1023)}@example.com`).local.length, 1023);
  });

  test('it rejects a localpart of 1024 bytes', () => {
    assertInvalid(`${'a'.repeat(1024)}@example.com`, /localpart longer than 1023 bytes/);
  });

  test('it counts UTF-8 bytes, not characters, in the localpart', () => {
    assertInvalid(`${'\u00e9'.repeat(512)}@example.com`, /localpart longer than 1023 bytes/);
  });

  test('it accepts a resourcepart of 1023 bytes', () => {
    assert.equal(Jid.parse(`example.com/${'r'.repeat(1023)}`).resource.length, 1023);
  });

  test('it rejects a resourcepart of 1024 bytes', () => {
    assertInvalid(`example.com/${'\u265a'.repeat(341)}x`, /resourcepart longer than 1023 bytes/);
  });

  test('it accepts a domain label of 63 bytes', () => {
    assert.equal(Jid.parse(`${'a'.repeat(63)}.example`).domain.length, 63 + '.example'.length);
  });

  test('it rejects a domain label of 64 bytes', () => {
    assertInvalid(`${'a'.repeat(64)}.example`, /label longer than 63 bytes/);
  });

  test('it rejects a domainpart longer than 1023 bytes', () => {
    const domain = Array.from({ length: 17 }, () => 'a'.repeat(63)).join('.');
    assertInvalid(domain, /domainpart longer than 1023 bytes/);
  });

  test('it rejects a megabyte-long localpart before normalising it', () => {
    assertInvalid(`${'\u00e9'.repeat(1 << 20)}@example.com`, /localpart longer than 1023 bytes/);
  });
});

describe('the Jid API', () => {
  test('it gives the bare and full forms', () => {
    const jid = Jid.parse('juliet@example.com/balcony');
    assert.deepEqual([jid.bare, jid.full, jid.toString(), JSON.stringify(jid)], [
      'juliet@example.com',
      'juliet@example.com/balcony',
      'juliet@example.com/balcony',
      '"juliet@example.com/balcony"',
    ]);
  });

  test('it reports whether a JID is bare or a domain', () => {
    const flags = (s: string) => [Jid.parse(s).isBare, Jid.parse(s).isDomain];
    assert.deepEqual(
      [flags('example.com'), flags('example.com/r'), flags('j@example.com'), flags('j@example.com/r')],
      [[true, true], [false, false], [true, false], [false, false]],
    );
  });

  test('it strips the resource with bareJid and returns itself when already bare', () => {
    const full = Jid.parse('juliet@example.com/balcony');
    assert.equal(full.bareJid().full, 'juliet@example.com');
    assert.equal(full.bareJid().bareJid(), full.bareJid());
  });

  test('it prepares the resource given to withResource', () => {
    assert.equal(Jid.parse('juliet@example.com').withResource('Orchard\u00a0Gate').full, 'juliet@example.com/Orchard Gate');
  });

  test('it rejects an invalid resource given to withResource', () => {
    assert.throws(() => Jid.parse('juliet@example.com').withResource('a\u0000'), JidError);
  });

  test('it builds and prepares a JID from parts with Jid.of', () => {
    assert.equal(Jid.of('Juliet', 'EXAMPLE.com.', 'Balcony').full, 'juliet@example.com/Balcony');
  });

  test('it treats an empty localpart given to Jid.of as absent', () => {
    assert.equal(Jid.of('', 'example.com').full, 'example.com');
  });

  test('it throws a JidError from Jid.of for an invalid part', () => {
    assert.throws(() => Jid.of('foo bar', 'example.com'), JidError);
  });

  test('it compares prepared JIDs with equals', () => {
    assert.equal(Jid.parse('JULIET@example.com/x').equals(Jid.of('juliet', 'Example.com', 'x')), true);
    assert.equal(Jid.parse('juliet@example.com/x').equals(Jid.parse('juliet@example.com/X')), false);
  });

  test('it returns null from tryParse for an invalid JID', () => {
    assert.equal(Jid.tryParse('juliet@'), null);
  });

  test('it returns the JID from tryParse for a valid JID', () => {
    assert.equal(Jid.tryParse('juliet@example.com')?.bare, 'juliet@example.com');
  });

  test('it returns the same instance when the same string is parsed twice', () => {
    assert.equal(Jid.parse('romeo@example.net/orchard'), Jid.parse('romeo@example.net/orchard'));
  });

  test('it keeps the parse cache within its limit', () => {
    const { limit } = jidCacheStats();
    for (let i = 0; i <= limit + 10; i++) Jid.parse(`user${i}@example.org`);
    const { size } = jidCacheStats();
    assert.ok(size > 0 && size <= limit, `cache size ${size} exceeds ${limit}`);
  });
});
