// Type declarations for @xmpp/xml and ltx, which ship none. Only what Parley uses.
declare module '@xmpp/xml' {
  export type Node = Element | string;
  export class Element {
    constructor(name: string, attrs?: Record<string, string | undefined> | string);
    name: string;
    parent: Element | null;
    children: Node[];
    attrs: Record<string, string | undefined>;
    is(name: string, xmlns?: string): boolean;
    getName(): string;
    getNS(): string | undefined;
    findNS(prefix?: string): string | undefined;
    getAttr(name: string, xmlns?: string): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildByAttr(attr: string, val: string, xmlns?: string, recursive?: boolean): Element | undefined;
    getChildElements(): Element[];
    getText(): string;
    getChildText(name: string, xmlns?: string): string | null;
    text(val?: string): string;
    attr(name: string, value?: string): string | undefined;
    c(name: string, attrs?: Record<string, string | undefined>): Element;
    cnode<T extends Element>(child: T): T;
    t(text: string): Element;
    up(): Element;
    root(): Element;
    append(...nodes: Node[]): Element;
    prepend(...nodes: Node[]): Element;
    remove(el: Element | string, xmlns?: string): Element;
    toString(): string;
  }
  export function createElement(name: string, attrs?: Record<string, string | undefined> | null, ...children: (Node | Node[] | null | undefined)[]): Element;
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: (Node | Node[] | null | undefined)[]): Element;
  export function escapeXML(s: string): string;
  export function escapeXMLText(s: string): string;
  export function unescapeXML(s: string): string;
  export default xml;
}

declare module 'ltx/lib/clone.js' {
  import type { Element } from '@xmpp/xml';
  export default function clone<T extends Element>(el: T): T;
}
