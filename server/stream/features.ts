import type { Element } from '@xmpp/xml';
import type { Session } from '../api/session.js';

export type NonzaHandler = (session: Session, element: Element) => void | Promise<void>;

/** Stream features and top-level non-stanza elements (nonzas) that modules add to bound streams. */
export class StreamExtensions {
  private readonly boundFeatures: Element[] = [];
  private readonly nonzas = new Map<string, { fn: NonzaHandler; module: string }>();

  addFeature(el: Element): () => void {
    this.boundFeatures.push(el);
    return () => { const i = this.boundFeatures.indexOf(el); if (i >= 0) this.boundFeatures.splice(i, 1); };
  }

  features(): readonly Element[] { return this.boundFeatures; }

  handle(xmlns: string, name: string, fn: NonzaHandler, module: string): () => void {
    const key = `${xmlns} ${name}`;
    const existing = this.nonzas.get(key);
    if (existing) throw new Error(`${key} is already handled by module ${existing.module}`);
    this.nonzas.set(key, { fn, module });
    return () => { this.nonzas.delete(key); };
  }

  nonza(xmlns: string, name: string): { fn: NonzaHandler; module: string } | undefined {
    return this.nonzas.get(`${xmlns} ${name}`);
  }
}
