import type { IqAddressee, IqHandler, IqHandlerKey } from '../api/context.js';

export interface IqRegistration { fn: IqHandler; module: string }

/** IQ handlers by (addressee, type, namespace, element): one Map lookup per IQ. */
export class IqTable {
  private readonly table = new Map<string, IqRegistration>();

  private static key(to: IqAddressee, type: string, xmlns: string, name: string): string {
    return `${to}\u0000${type}\u0000${xmlns}\u0000${name}`;
  }

  add(key: IqHandlerKey, fn: IqHandler, module: string): () => void {
    const targets = Array.isArray(key.to) ? key.to : [key.to];
    const keys = targets.map((to) => IqTable.key(to, key.type, key.xmlns, key.name));
    for (const k of keys) {
      const existing = this.table.get(k);
      if (existing) throw new Error(`IQ handler for ${k.replaceAll('\u0000', ' ')} is already registered by module ${existing.module}`);
    }
    const reg = { fn, module };
    for (const k of keys) this.table.set(k, reg);
    return () => { for (const k of keys) if (this.table.get(k) === reg) this.table.delete(k); };
  }

  find(to: IqAddressee, type: string, xmlns: string, name: string): IqRegistration | undefined {
    return this.table.get(IqTable.key(to, type, xmlns, name));
  }

  /** Namespaces with any handler for an addressee (disco may use this). */
  namespaces(to: IqAddressee): string[] {
    const out = new Set<string>();
    for (const k of this.table.keys()) {
      const [t, , ns] = k.split('\u0000');
      if (t === to && ns) out.add(ns);
    }
    return [...out];
  }
}
