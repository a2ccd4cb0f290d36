import { StanzaError } from '../../server/api/index.js';
import type { BlocklistStore } from './store.js';

/**
 * Every account's block list, in memory for the per-stanza checks (one Map lookup for an account
 * that blocks nobody) and on disk for the next start. Writes go to the database first, so a
 * failed write leaves memory as it was.
 */
export class Blocklists {
  private readonly lists = new Map<string, Set<string>>();

  constructor(private readonly store: BlocklistStore, private readonly maxItems: number) {
    for (const [owner, jids] of store.loadAll()) this.lists.set(owner, new Set(jids));
  }

  /** The list of an account, or undefined when it blocks nobody. */
  of(owner: string): ReadonlySet<string> | undefined {
    return this.lists.get(owner);
  }

  items(owner: string): string[] {
    return [...(this.lists.get(owner) ?? [])];
  }

  /** Block JIDs; returns the ones that were not blocked before. */
  block(owner: string, jids: readonly string[]): string[] {
    const list = this.lists.get(owner);
    const added = jids.filter((j) => !list?.has(j));
    if (added.length === 0) return [];
    if ((list?.size ?? 0) + added.length > this.maxItems) {
      throw new StanzaError('resource-constraint', `A block list holds at most ${this.maxItems} items`, { type: 'cancel' });
    }
    this.store.add(owner, added, Date.now());
    if (list) for (const j of added) list.add(j);
    else this.lists.set(owner, new Set(added));
    return added;
  }

  /** Unblock JIDs; returns the ones that were blocked. */
  unblock(owner: string, jids: readonly string[]): string[] {
    const list = this.lists.get(owner);
    if (!list) return [];
    const removed = jids.filter((j) => list.has(j));
    if (removed.length === 0) return [];
    this.store.remove(owner, removed);
    for (const j of removed) list.delete(j);
    if (list.size === 0) this.lists.delete(owner);
    return removed;
  }

  /** Unblock everything; returns what was blocked. */
  unblockAll(owner: string): string[] {
    const list = this.lists.get(owner);
    if (!list) return [];
    this.store.clear(owner);
    this.lists.delete(owner);
    return [...list];
  }
}
