import type { Element } from '../../server/api/index.js';

/**
 * Another module answering for one element of private storage instead of this module's table:
 * XEP-0402 bookmarks serve the legacy `<storage xmlns='storage:bookmarks'/>` from PEP this way, so
 * both views are one set of data.
 */
export interface PrivateElementHandler {
  /**
   * The element an owner's get is answered with; null when there is nothing (the empty element is
   * answered). `stored` is what private storage itself held under this name from before the claim:
   * it is handed over once (the handler keeps it) and then deleted from private storage.
   */
  get(owner: string, stored: Element | null): Element | null;
  /**
   * Store the element of an owner's set (an empty element means "delete"). Runs inside the set's
   * transaction: throw a StanzaError to refuse the whole set.
   */
  set(owner: string, element: Element): void;
}

/** The `private` service of the private module (XEP-0049). */
export interface PrivateService {
  /**
   * Let `handler` answer for the element `name` in namespace `ns` (one handler per element).
   * Returns a function that gives it back to private storage.
   */
  claim(ns: string, name: string, handler: PrivateElementHandler): () => void;
}

declare module '../../server/api/index.js' {
  interface ParleyServices {
    private: PrivateService;
  }
}
