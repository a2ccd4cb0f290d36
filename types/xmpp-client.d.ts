// Minimal type declarations for @xmpp/client, used by the tests only.
declare module '@xmpp/client' {
  import type { Element } from '@xmpp/xml';
  import type { EventEmitter } from 'node:events';
  export interface ClientOptions {
    service: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    credentials?: (auth: (creds: { username: string; password: string }) => Promise<void>, mechanism: string) => Promise<void>;
    timeout?: number;
  }
  export interface Client extends EventEmitter {
    jid: { toString(): string; local: string; domain: string; resource: string } | null;
    status: string;
    start(): Promise<unknown>;
    stop(): Promise<void>;
    send(el: Element): Promise<void>;
    sendMany(els: Element[]): Promise<void>;
    write(s: string): Promise<void>;
    disconnect(timeout?: number): Promise<void>;
    iqCaller: { request(el: Element, timeout?: number): Promise<Element>; get(el: Element, to?: string, timeout?: number): Promise<Element>; set(el: Element, to?: string, timeout?: number): Promise<Element> };
    iqCallee: { get(ns: string, name: string, fn: (ctx: unknown) => unknown): void; set(ns: string, name: string, fn: (ctx: unknown) => unknown): void };
    reconnect: { stop(): void; start(): void };
    socket: unknown;
    options: Record<string, unknown>;
    streamManagement?: unknown;
    mechanisms?: unknown;
    [key: string]: unknown;
  }
  export function client(options: ClientOptions): Client;
  export { xml } from '@xmpp/xml';
  export function jid(s: string): { toString(): string; local: string; domain: string; resource: string; bare(): { toString(): string } };
}
