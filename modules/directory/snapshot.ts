import { matchesGroup, type Group } from './groups.js';
import type { Person } from './people.js';

/** A shared contact of one person: the other person's localpart, name and the shared groups in common. */
export interface SharedLink {
  readonly local: string;
  readonly name: string;
  readonly groups: readonly string[];
}

/**
 * What the last sync learnt: the people who may use the server now (by localpart), their groups,
 * managers, and which groups are shared rosters. Replaced as a whole at each sync; everything the
 * module answers between syncs (shared rosters, search, the `directory` service) comes from here.
 */
export class Snapshot {
  /** Group lists by localpart (only the people in this snapshot). */
  private readonly groupsByLocal = new Map<string, Group[]>();
  private readonly sharedByLocal = new Map<string, Group[]>();
  private readonly localByKey = new Map<string, string>();
  private readonly reportsByLocal = new Map<string, string[]>();
  /** Memoised shared contacts per localpart (asked for every broadcast presence). */
  private readonly contactsMemo = new Map<string, Map<string, SharedLink>>();

  constructor(
    readonly people: ReadonlyMap<string, Person>,
    readonly groups: ReadonlyMap<string, Group>,
    sharedRefs: readonly string[],
  ) {
    for (const p of people.values()) this.localByKey.set(p.key, p.local);
    for (const g of groups.values()) {
      const shared = sharedRefs.some((ref) => matchesGroup(g, ref));
      for (const local of g.members) {
        if (!people.has(local)) continue;
        push(this.groupsByLocal, local, g);
        if (shared) push(this.sharedByLocal, local, g);
      }
    }
    for (const p of people.values()) {
      const manager = p.managerKey ? this.localByKey.get(p.managerKey) : undefined;
      if (manager) push(this.reportsByLocal, manager, p.local);
    }
  }

  static empty(): Snapshot {
    return new Snapshot(new Map(), new Map(), []);
  }

  person(local: string): Person | undefined {
    return this.people.get(local);
  }

  groupsOf(local: string): readonly Group[] {
    return this.groupsByLocal.get(local) ?? [];
  }

  managerOf(local: string): Person | undefined {
    const key = this.people.get(local)?.managerKey;
    const manager = key ? this.localByKey.get(key) : undefined;
    return manager ? this.people.get(manager) : undefined;
  }

  reportsOf(local: string): readonly string[] {
    return this.reportsByLocal.get(local) ?? [];
  }

  /** The people who share at least one shared group with `local`, with the groups in common. */
  contactsOf(local: string): ReadonlyMap<string, SharedLink> {
    const memo = this.contactsMemo.get(local);
    if (memo) return memo;
    const out = new Map<string, SharedLink>();
    for (const g of this.sharedByLocal.get(local) ?? []) {
      for (const other of g.members) {
        if (other === local) continue;
        const person = this.people.get(other);
        if (!person) continue;
        const seen = out.get(other);
        out.set(other, { local: other, name: person.name, groups: seen ? [...seen.groups, g.name] : [g.name] });
      }
    }
    this.contactsMemo.set(local, out);
    return out;
  }

  /** The shared groups `a` and `b` have in common (empty: none). */
  sharedBetween(a: string, b: string): string[] {
    if (a === b) return [];
    const ofB = this.sharedByLocal.get(b);
    if (!ofB) return [];
    const names: string[] = [];
    for (const g of this.sharedByLocal.get(a) ?? []) if (ofB.includes(g)) names.push(g.name);
    return names;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value); else map.set(key, [value]);
}

/** Whether two views of one shared contact differ (name or groups). */
export function sameLink(a: SharedLink | undefined, b: SharedLink | undefined): boolean {
  if (!a || !b) return a === b;
  return a.name === b.name && a.groups.length === b.groups.length && a.groups.every((g, i) => g === b.groups[i]);
}
