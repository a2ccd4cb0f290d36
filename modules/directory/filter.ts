/**
 * LDAP search filters from configured templates and untrusted values (RFC 4515). Every value a
 * client can influence (a login name, a localpart) goes into a filter through `escapeFilterValue`,
 * so "*)(uid=*" is a name to look up, not a filter that matches everyone (LDAP injection).
 */

/**
 * RFC 4515 section 3: in an assertion value the characters '*' (2A), '(' (28), ')' (29), '\' (5C)
 * and NUL (00) must be written as a backslash and two hex digits. Control characters are escaped as
 * well (allowed by the RFC, and they have no business in a name); other UTF-8 is left as it is.
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '*' || ch === '(' || ch === ')' || ch === '\\' || code < 0x20 || code === 0x7f) {
      out += `\\${code.toString(16).padStart(2, '0')}`;
    } else {
      out += ch;
    }
  }
  return out;
}

/** A configured filter with `{name}` placeholders replaced by escaped values (unknown placeholders stay). */
export function fillFilter(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? escapeFilterValue(values[name]!) : whole);
}

/** `(attr=value)` with the value escaped. */
export function equalityFilter(attribute: string, value: string): string {
  return `(${attribute}=${escapeFilterValue(value)})`;
}

/** Both filters must match: `(&a b)`. */
export function andFilter(...filters: string[]): string {
  return filters.length === 1 ? filters[0]! : `(&${filters.join('')})`;
}
