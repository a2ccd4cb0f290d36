import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EqualityFilter, FilterParser, SubstringFilter } from 'ldapts';
import { andFilter, equalityFilter, escapeFilterValue, fillFilter } from './filter.js';
import { dnKey, firstRdnValue, parseDn } from './dn.js';

test('the five characters RFC 4515 reserves are escaped as a backslash and two hex digits', () => {
  assert.equal(escapeFilterValue('*'), '\\2a');
  assert.equal(escapeFilterValue('('), '\\28');
  assert.equal(escapeFilterValue(')'), '\\29');
  assert.equal(escapeFilterValue('\\'), '\\5c');
  assert.equal(escapeFilterValue('\0'), '\\00');
});

test('an injection attempt in a login name becomes a literal value', () => {
  assert.equal(escapeFilterValue('*)(uid=*'), '\\2a\\29\\28uid=\\2a');
  assert.equal(fillFilter('(&(objectClass=inetOrgPerson)(uid={user}))', { user: '*)(uid=*' }),
    '(&(objectClass=inetOrgPerson)(uid=\\2a\\29\\28uid=\\2a))');
});

test('an escaped value parses back to exactly the original text as one equality assertion', () => {
  for (const value of ['*)(uid=*', 'a\\b', 'x)(|(objectClass=*', 'nul\0byte', 'Zoë Ångström', 'admin*', ')(', '\\2a']) {
    const parsed = FilterParser.parseString(`(uid=${escapeFilterValue(value)})`);
    assert.ok(parsed instanceof EqualityFilter, `${JSON.stringify(value)} parsed as ${parsed.constructor.name}`);
    assert.equal(parsed.value.toString(), value);
  }
});

test('a wildcard in a value does not make a substring filter', () => {
  const parsed = FilterParser.parseString(equalityFilter('uid', 'a*b'));
  assert.ok(parsed instanceof EqualityFilter);
  assert.ok(!(parsed instanceof SubstringFilter));
});

test('control characters are escaped and other Unicode is kept as it is', () => {
  assert.equal(escapeFilterValue('a\nb\u007f'), 'a\\0ab\\7f');
  assert.equal(escapeFilterValue('Zoë'), 'Zoë');
});

test('every {user} in a template is replaced and other placeholders stay', () => {
  assert.equal(fillFilter('(|(uid={user})(mail={user}@example.com))', { user: 'a(b' }), '(|(uid=a\\28b)(mail=a\\28b@example.com))');
  assert.equal(fillFilter('(cn={other})', { user: 'x' }), '(cn={other})');
});

test('andFilter joins filters and leaves a single one alone', () => {
  assert.equal(andFilter('(a=1)'), '(a=1)');
  assert.equal(andFilter('(a=1)', '(b=2)'), '(&(a=1)(b=2))');
});

test('DNs compare regardless of case and spacing, with escaped commas kept inside values', () => {
  assert.equal(dnKey('CN=Support, OU=Groups,DC=corp,DC=example'), 'cn=support,ou=groups,dc=corp,dc=example');
  assert.equal(dnKey('cn=Miller\\, Mallory,ou=Users'), 'cn=miller, mallory,ou=users');
  assert.deepEqual(parseDn('cn=a\\2cb,dc=x'), [['cn', 'a,b'], ['dc', 'x']]);
  assert.equal(firstRdnValue('CN=Support,OU=Groups,DC=corp,DC=example'), 'Support');
});
