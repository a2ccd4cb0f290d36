import { createHash } from 'node:crypto';
import type { Jid } from '../../server/api/index.js';
import type { RosterItem, SharedContact, SharedGroupSource } from './service.js';

/**
 * The shared groups layered over the stored rosters: sources (the directory) say who shares a group
 * with whom; an owner's item for a shared contact is the stored item (if any) with subscription
 * 'both', the shared groups added to its own, and the shared name when the owner gave none.
 */
export class SharedGroups {
  private readonly sources: SharedGroupSource[] = [];

  add(source: SharedGroupSource): () => void {
    this.sources.push(source);
    return () => {
      const i = this.sources.indexOf(source);
      if (i >= 0) this.sources.splice(i, 1);
    };
  }

  get empty(): boolean { return this.sources.length === 0; }

  /** What the sources say about one contact of the owner (empty: not shared). */
  contactOf(owner: Jid, contact: Jid): SharedContact[] {
    const out: SharedContact[] = [];
    for (const source of this.sources) {
      const c = source.contactOf(owner, contact);
      if (c) out.push(c);
    }
    return out;
  }

  /** Every shared contact of the owner, one entry per JID (groups of several sources joined). */
  contactsOf(owner: Jid): Map<string, SharedContact> {
    const out = new Map<string, SharedContact>();
    for (const source of this.sources) {
      for (const c of source.contactsOf(owner)) {
        if (c.jid === owner.bare) continue;
        const seen = out.get(c.jid);
        out.set(c.jid, seen ? { jid: c.jid, name: seen.name ?? c.name, groups: union(seen.groups, c.groups) } : c);
      }
    }
    return out;
  }

  groupsOf(owner: Jid, contact: Jid): string[] {
    return union([], ...this.contactOf(owner, contact).map((c) => c.groups));
  }

  /** A short digest of the owner's shared contacts, part of the roster version (RFC 6121 2.6). */
  digest(owner: Jid): string {
    if (this.sources.length === 0) return '';
    const contacts = [...this.contactsOf(owner).values()];
    if (contacts.length === 0) return '';
    contacts.sort((a, b) => (a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0));
    const hash = createHash('sha1');
    for (const c of contacts) hash.update(`${c.jid}\u0000${c.name ?? ''}\u0000${c.groups.join('\u0001')}\u0002`);
    return hash.digest('hex').slice(0, 12);
  }
}

/** The item the owner sees: a stored item (or none) merged with what shared groups say. */
export function mergeShared(contactJid: string, stored: RosterItem | undefined, shared: readonly SharedContact[]): RosterItem | undefined {
  if (shared.length === 0) return stored;
  const sharedName = shared.find((c) => c.name)?.name ?? null;
  return {
    jid: contactJid,
    name: stored?.name ?? sharedName,
    groups: union(stored?.groups ?? [], ...shared.map((c) => c.groups)),
    // Shared contacts see each other's presence both ways, with nothing pending.
    subscription: 'both',
    ask: false,
    approved: false,
  };
}

export function sameItem(a: RosterItem | undefined, b: RosterItem | undefined): boolean {
  if (!a || !b) return a === b;
  return a.jid === b.jid && a.name === b.name && a.subscription === b.subscription && a.ask === b.ask
    && a.approved === b.approved && a.groups.length === b.groups.length && a.groups.every((g, i) => g === b.groups[i]);
}

function union(first: readonly string[], ...rest: (readonly string[])[]): string[] {
  const out = [...first];
  for (const list of rest) for (const g of list) if (!out.includes(g)) out.push(g);
  return out;
}
