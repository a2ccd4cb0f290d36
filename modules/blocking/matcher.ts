import type { Jid } from '../../server/api/index.js';

/** An IP literal has no parent domains ("1.168.192" is not a domain of "10.1.168.192"). */
const IP_LITERAL = /^(\[.*\]|[\d.]+)$/;

/**
 * XEP-0191 section 4 (as XEP-0016): whether `jid` is covered by a block list whose entries are
 * prepared JID strings.
 * - user@domain/resource: only that resource;
 * - user@domain: any resource of that account;
 * - domain/resource: only that resource of the domain itself;
 * - domain: the domain itself, anyone on it, and any subdomain.
 */
export function isBlocked(list: ReadonlySet<string>, jid: Jid): boolean {
  if (list.size === 0) return false;
  if (jid.resource !== '') {
    if (list.has(jid.full)) return true;
    if (jid.local !== '' && list.has(`${jid.domain}/${jid.resource}`)) return true;
  }
  if (jid.local !== '' && list.has(jid.bare)) return true;
  let domain = jid.domain;
  if (list.has(domain)) return true;
  if (IP_LITERAL.test(domain)) return false;
  for (let dot = domain.indexOf('.'); dot >= 0; dot = domain.indexOf('.')) {
    domain = domain.slice(dot + 1);
    if (list.has(domain)) return true;
  }
  return false;
}
