import { NS, StanzaError, cloneElement, xml, type Element } from '../../server/api/index.js';
import type { VCardSource } from './service.js';

/** What the sources said about one user, in source registration order. */
export interface SourceCard {
  source: VCardSource;
  card: Element;
}

/** The fields the sources own for one user: field name → the owning source and its elements. */
export type OwnedFields = Map<string, { source: string; elements: Element[] }>;

function fieldsByName(card: Element): Map<string, Element[]> {
  const out = new Map<string, Element[]>();
  for (const el of card.getChildElements()) {
    const list = out.get(el.getName());
    if (list) list.push(el); else out.set(el.getName(), [el]);
  }
  return out;
}

/** The owned fields and the default fields of the sources (see the merge rule in service.ts). */
export function splitSourceFields(cards: readonly SourceCard[]): { owned: OwnedFields; defaults: Map<string, Element[]> } {
  const owned: OwnedFields = new Map();
  const defaults = new Map<string, Element[]>();
  for (const { source, card } of cards) {
    const readOnly = source.readOnlyFields ? new Set(source.readOnlyFields) : null;
    for (const [name, elements] of fieldsByName(card)) {
      if (readOnly === null || readOnly.has(name)) {
        if (!owned.has(name)) owned.set(name, { source: source.name, elements });
      } else if (!defaults.has(name)) {
        defaults.set(name, elements);
      }
    }
  }
  return { owned, defaults };
}

/**
 * The vCard users see: owned source fields, then the user's stored fields, then source defaults
 * for names the user has not set. Null when nothing at all is known.
 */
export function mergeVCard(stored: Element | null, cards: readonly SourceCard[]): Element | null {
  if (cards.length === 0) return stored;
  const { owned, defaults } = splitSourceFields(cards);
  const merged = xml('vCard', { ...stored?.attrs, xmlns: NS.VCARD });
  for (const { elements } of owned.values()) for (const el of elements) merged.append(cloneElement(el));
  const storedNames = new Set<string>();
  for (const el of stored?.getChildElements() ?? []) {
    if (owned.has(el.getName())) continue;
    storedNames.add(el.getName());
    merged.append(cloneElement(el));
  }
  for (const [name, elements] of defaults) {
    if (owned.has(name) || storedNames.has(name)) continue;
    for (const el of elements) merged.append(cloneElement(el));
  }
  return merged.children.length > 0 ? merged : null;
}

/** A comparable form of an element that ignores attribute order and formatting whitespace. */
function canonical(el: Element): string {
  const attrs = Object.entries(el.attrs).filter(([k, v]) => v !== undefined && k !== 'xmlns').sort(([a], [b]) => a.localeCompare(b));
  const children = el.children
    .map((c) => (typeof c === 'string' ? c.trim() : canonical(c)))
    .filter((c) => c !== '');
  return `<${el.getName()} ${JSON.stringify(attrs)}>${children.join('')}</>`;
}

/**
 * The part of an update that the user may store: owned fields are checked and left out. Refuses
 * with `not-allowed` when the update gives an owned field a value other than the source's.
 */
export function ownFieldsOfUpdate(update: Element, owned: OwnedFields): Element {
  const changed: string[] = [];
  const sources = new Set<string>();
  for (const [name, elements] of fieldsByName(update)) {
    const own = owned.get(name);
    if (!own) continue;
    const same = elements.length === own.elements.length && elements.every((el, i) => canonical(el) === canonical(own.elements[i]!));
    if (!same) { changed.push(name); sources.add(own.source); }
  }
  if (changed.length > 0) {
    throw new StanzaError('not-allowed', `${changed.join(', ')} ${changed.length === 1 ? 'is' : 'are'} managed by ${[...sources].join(', ')} and cannot be changed here`);
  }
  const kept = xml('vCard', { ...update.attrs, xmlns: NS.VCARD });
  for (const c of update.children) {
    if (typeof c !== 'string' && owned.has(c.getName())) continue;
    kept.append(typeof c === 'string' ? c : cloneElement(c));
  }
  return kept;
}
