import type { Element } from '../../server/api/index.js';

interface Held { stanza: Element | null; key: string | null }

/**
 * The stanzas held back for one inactive session, in arrival order. A keyed stanza replaces the
 * earlier one with the same key (its slot is emptied and the new one goes to the end, so the order
 * of what is finally sent is the order of the latest versions).
 */
export class HeldStanzas {
  private entries: Held[] = [];
  private readonly byKey = new Map<string, Held>();
  private live = 0;

  get size(): number { return this.live; }

  add(stanza: Element, key: string | null): void {
    if (key !== null) {
      const earlier = this.byKey.get(key);
      if (earlier) { earlier.stanza = null; this.live--; }
    }
    const entry = { stanza, key };
    this.entries.push(entry);
    if (key !== null) this.byKey.set(key, entry);
    this.live++;
  }

  /** Everything held, oldest first, and an empty queue. */
  take(): Element[] {
    const out: Element[] = [];
    for (const e of this.entries) if (e.stanza) out.push(e.stanza);
    this.entries = [];
    this.byKey.clear();
    this.live = 0;
    return out;
  }
}
