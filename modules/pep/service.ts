import type { Element, Jid } from '../../server/api/index.js';

/** XEP-0060 access models this PEP service supports (section 4.5). */
export type AccessModel = 'open' | 'presence' | 'whitelist';
/** XEP-0060 pubsub#send_last_published_item. */
export type SendLastPublished = 'never' | 'on_sub' | 'on_sub_and_presence';

/** The configuration of one node. */
export interface NodeConfig {
  /** Who may read the items: anyone, contacts with a presence subscription, or the owner alone. */
  accessModel: AccessModel;
  /** Items kept; the oldest beyond it are removed at the next publish. */
  maxItems: number;
  persistItems: boolean;
  /** Whether contacts get the newest item when they come online or subscribe (XEP-0163 section 4.3.3). */
  sendLastPublishedItem: SendLastPublished;
  notifyRetract: boolean;
  notifyDelete: boolean;
  title: string;
}

/** One published item. */
export interface PepItem {
  readonly id: string;
  readonly payload: Element;
  /** Bare JID of the publisher. */
  readonly publisher: string;
  readonly publishedAt: Date;
}

/**
 * The `pep` service: the Personal Eventing nodes of local accounts, for modules that keep
 * something in them on the user's behalf (XEP-0402 bookmarks from legacy private storage).
 * Publishing and retracting through it notify subscribers exactly as a client's request would.
 */
export interface PepService {
  /**
   * The configuration a node gets when it is created without publish-options, e.g. private
   * (whitelist) for bookmarks, so a client that forgets the options does not publish them to contacts.
   * A `maxItems` above the service's limit means the limit ("max").
   */
  setNodeDefaults(node: string, config: Partial<NodeConfig>): void;
  /**
   * Publish an item as the owner (creating the node with `options` or the defaults). When the
   * node exists, `options` are preconditions: a mismatch throws StanzaError conflict with
   * precondition-not-met (XEP-0060 7.1.5). Returns the item as stored.
   */
  publish(owner: Jid, node: string, item: { id?: string; payload: Element }, options?: Partial<NodeConfig>): PepItem;
  /** Remove items (notifying as the node is configured); returns how many existed. */
  retract(owner: Jid, node: string, itemIds: readonly string[]): number;
  /** The node's items, oldest first; [] when the node does not exist. */
  items(owner: Jid, node: string): PepItem[];
  /** Delete a node and its items; returns whether it existed. */
  deleteNode(owner: Jid, node: string): boolean;
}

declare module '../../server/api/index.js' {
  interface ParleyServices {
    pep: PepService;
  }
}
