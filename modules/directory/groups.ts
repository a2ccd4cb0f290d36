import type { Entry } from 'ldapts';
import type { DirectoryConfig } from './config.js';
import { dnKey, firstRdnValue } from './dn.js';
import type { Person, PersonMapper } from './people.js';

/** A directory group and the people in it (by localpart). */
export interface Group {
  /** dnKey of the group's DN. */
  readonly key: string;
  readonly dn: string;
  /** The roster group name. */
  readonly name: string;
  readonly members: Set<string>;
}

function valueList(entry: Entry, attribute: string): string[] {
  const wanted = attribute.toLowerCase();
  for (const [name, value] of Object.entries(entry)) {
    if (name.toLowerCase() !== wanted) continue;
    const list = Array.isArray(value) ? value : [value];
    return list.map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
  }
  return [];
}

/**
 * groups.source 'entries': groups from group entries. A member value is the DN of a person
 * (member, uniqueMember; a uniqueMember's "#'...'B" suffix is ignored) or a localpart (memberUid).
 * Members that are not people found by the sync (other groups: nesting is not followed) are left out.
 */
export function groupsFromEntries(entries: readonly Entry[], config: DirectoryConfig, people: ReadonlyMap<string, Person>, mapper: PersonMapper): Map<string, Group> {
  const byKey = new Map<string, string>();
  for (const p of people.values()) byKey.set(p.key, p.local);
  const groups = new Map<string, Group>();
  for (const entry of entries) {
    const key = dnKey(entry.dn);
    const name = valueList(entry, config.groups.name_attribute)[0]?.trim() || firstRdnValue(entry.dn);
    const members = new Set<string>();
    for (const [attribute, kind] of Object.entries(config.groups.member_attributes)) {
      for (const raw of valueList(entry, attribute)) {
        const local = kind === 'dn'
          ? byKey.get(dnKey(raw.replace(/#'[01]*'B$/, '')))
          : mapper.localpart(raw);
        if (local && people.has(local)) members.add(local);
      }
    }
    groups.set(key, { key, dn: entry.dn, name, members });
  }
  return groups;
}

/** groups.source 'member_of': groups from each person's memberOf; the name is the first RDN's value. */
export function groupsFromMemberOf(people: ReadonlyMap<string, Person>): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const p of people.values()) {
    for (const dn of p.memberOf) {
      const key = dnKey(dn);
      let g = groups.get(key);
      if (!g) {
        g = { key, dn, name: firstRdnValue(dn), members: new Set() };
        groups.set(key, g);
      }
      g.members.add(p.local);
    }
  }
  return groups;
}

/** Whether a configured group reference (a name, case-insensitive, or a DN; "*" for all) means `group`. */
export function matchesGroup(group: Group, ref: string): boolean {
  if (ref === '*') return true;
  if (ref.includes('=')) return dnKey(ref) === group.key;
  return group.name.toLowerCase() === ref.toLowerCase();
}
