import { Element } from '@xmpp/xml';

/**
 * An element as JSON: `[name, attrs, ...children]`, text children as strings. Modules store
 * stanzas and payloads (offline messages, vCards, private XML, pending requests) in this form, so
 * reading them back needs no second XML parser: stored data never goes through a laxer parser
 * than the restricted one at the socket.
 */
export type JsonNode = string | [string, Record<string, string>, ...JsonNode[]];

export function elementToJson(el: Element): JsonNode {
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(el.attrs)) if (v !== undefined) attrs[k] = v;
  return [el.name, attrs, ...el.children.map((c) => (typeof c === 'string' ? c : elementToJson(c)))];
}

export function elementFromJson(node: JsonNode): Element {
  if (typeof node === 'string') throw new Error('expected an element, got text');
  const [name, attrs, ...children] = node;
  const el = new Element(name, attrs);
  for (const c of children) el.append(typeof c === 'string' ? c : elementFromJson(c));
  return el;
}
