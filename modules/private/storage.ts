import { NS, StanzaError, cloneElement, xml, type Element, type KeyValueStore, elementFromJson, elementToJson, type JsonNode } from '../../server/api/index.js';
import type { PrivateElementHandler, PrivateService } from './service.js';

/** Namespaces that are not private data: the stream's own and this protocol's (XEP-0049 section 2.3). */
const RESERVED = new Set<string>([NS.CLIENT, NS.SERVER, NS.PRIVATE]);

export interface PrivateLimits {
  max_item_bytes: number;
  max_items: number;
}

/** One stored fragment: its key is its qualified name, in Clark notation `{namespace}name`. */
interface Fragment { key: string; element: Element; empty: boolean }

/**
 * A child of the query as a self-contained fragment. XEP-0049 section 2.3: it must be qualified by
 * a namespace of its own, so one without (it would inherit jabber:iq:private) is not-acceptable.
 */
function fragmentOf(child: Element): Fragment {
  const ns = child.getNS();
  if (!ns || RESERVED.has(ns)) {
    throw new StanzaError('not-acceptable', `<${child.getName()}/> must be qualified by a namespace of its own, not '${ns ?? ''}'`);
  }
  const element = cloneElement(child);
  // Declared on the element itself, so it stays correct outside the query it came in.
  const colon = element.name.indexOf(':');
  element.attrs[colon < 0 ? 'xmlns' : `xmlns:${element.name.slice(0, colon)}`] = ns;
  const empty = element.children.length === 0 && Object.keys(element.attrs).every((a) => a === 'xmlns' || a.startsWith('xmlns:'));
  return { key: `{${ns}}${child.getName()}`, element, empty };
}

/** XEP-0049 private XML storage of each account, in the module's key/value store. */
export class PrivateStorage implements PrivateService {
  /** Elements another module answers for (see PrivateService.claim), by key. */
  private readonly claimed = new Map<string, PrivateElementHandler>();

  constructor(
    private readonly store: KeyValueStore<JsonNode>,
    private readonly limits: PrivateLimits,
    private readonly transaction: (fn: () => void) => void,
  ) {}

  claim(ns: string, name: string, handler: PrivateElementHandler): () => void {
    const key = `{${ns}}${name}`;
    if (this.claimed.has(key)) throw new Error(`private storage of ${key} is already claimed`);
    this.claimed.set(key, handler);
    return () => { if (this.claimed.get(key) === handler) this.claimed.delete(key); };
  }

  /** XEP-0049 section 2.3: one element per get; one never stored comes back empty. */
  get(owner: string, query: Element): Element {
    const children = query.getChildElements();
    if (children.length !== 1) throw new StanzaError('not-acceptable', 'Ask for exactly one element per request');
    const { key } = fragmentOf(children[0]!);
    const child = children[0]!;
    const stored = this.store.get(owner, key);
    const handler = this.claimed.get(key);
    let element: Element | null = stored ? elementFromJson(stored) : null;
    if (handler) {
      // What was stored here before the claim is handed over once, then forgotten.
      element = handler.get(owner, element);
      if (stored) this.store.delete(owner, key);
    }
    return xml('query', { xmlns: NS.PRIVATE }, element ?? xml(child.getName(), { xmlns: child.getNS() }));
  }

  /** Store every child of the query, all or none. An empty element deletes what was stored under its name. */
  set(owner: string, query: Element): void {
    const children = query.getChildElements();
    if (children.length === 0) throw new StanzaError('not-acceptable', 'Nothing to store: the query has no child element');
    const fragments = children.map(fragmentOf);
    for (const f of fragments) {
      const size = Buffer.byteLength(f.element.toString());
      if (size > this.limits.max_item_bytes) {
        throw new StanzaError('not-acceptable', `<${f.element.getName()}/> is ${size} bytes; this server stores at most ${this.limits.max_item_bytes} per element`);
      }
    }
    const existing = new Set(this.store.keys(owner));
    const after = new Set(existing);
    for (const f of fragments) {
      if (this.claimed.has(f.key)) continue;
      if (f.empty) after.delete(f.key); else after.add(f.key);
    }
    if (after.size > this.limits.max_items && after.size > existing.size) {
      throw new StanzaError('not-acceptable', `This server stores at most ${this.limits.max_items} elements per account`);
    }
    this.transaction(() => {
      for (const f of fragments) {
        const handler = this.claimed.get(f.key);
        if (handler) {
          handler.set(owner, f.element);
          this.store.delete(owner, f.key);
        } else if (f.empty) this.store.delete(owner, f.key);
        else this.store.set(owner, f.key, elementToJson(f.element));
      }
    });
  }

  deleteAccount(owner: string): void {
    this.store.clear(owner);
  }
}
