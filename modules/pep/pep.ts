import crypto from 'node:crypto';
import {
  Jid, StanzaError, cloneElement, delayStamp, xml,
  type Element, type ModuleContext, type Session, type StanzaEvent, type Verdict,
} from '../../server/api/index.js';
import type { CapsService } from '../caps/service.js';
import type { RosterService } from '../roster/service.js';
import { PEP_DEFAULTS, PUBSUB_EVENT, optionsMatch, pubsubError } from './config.js';
import type { NodeConfig, PepItem, PepService } from './service.js';
import type { PepStore } from './store.js';

type Ctx = Pick<ModuleContext, 'sessions' | 'router' | 'accounts' | 'timers' | 'log'>;

export interface PepLimits {
  /** Highest max_items a node may have ('max' means this). */
  maxItems: number;
  /** Most nodes one account may have. */
  maxNodes: number;
  /** Largest item payload, in bytes of XML. */
  maxItemBytes: number;
}

/**
 * XEP-0163 Personal Eventing: every account is a PubSub service (XEP-0060 subset) whose nodes are
 * created by publishing, read by the owner and, per access model, by contacts, and whose
 * notifications go to the sessions (the owner's own and its subscribers') that asked for them with
 * a "+notify" feature in their entity capabilities.
 */
export class PersonalEventing implements PepService {
  private readonly defaults = new Map<string, Partial<NodeConfig>>();

  constructor(
    private readonly ctx: Ctx,
    private readonly store: PepStore,
    private readonly roster: RosterService,
    private readonly caps: CapsService,
    readonly limits: PepLimits,
  ) {}

  setNodeDefaults(node: string, config: Partial<NodeConfig>): void {
    this.defaults.set(node, { ...this.defaults.get(node), ...config });
  }

  /** The configuration a new node gets: PEP defaults, then a module's defaults for it, then the publisher's options. */
  newNodeConfig(node: string, options: Partial<NodeConfig> = {}): NodeConfig {
    const config = { ...PEP_DEFAULTS, ...this.defaults.get(node), ...options };
    return { ...config, maxItems: Math.min(config.maxItems, this.limits.maxItems) };
  }

  nodeConfig(owner: Jid, node: string): NodeConfig | undefined {
    return this.store.node(owner.bare, node);
  }

  nodes(owner: Jid): { node: string; config: NodeConfig }[] {
    return this.store.nodes(owner.bare);
  }

  // ---- access (XEP-0060 4.5, XEP-0163 4.1) ---------------------------------------------------

  /** Whether `requester` may read the items of `owner`'s node. The owner always may. */
  mayRead(owner: Jid, config: NodeConfig, requester: Jid): boolean {
    if (requester.bare === owner.bare) return true;
    if (config.accessModel === 'open') return true;
    if (config.accessModel === 'presence') return this.isSubscriber(owner, requester);
    return false;
  }

  /** The refusal for a reader who may not (XEP-0060 6.5.9.2 and 6.5.9.3). */
  readRefusal(config: NodeConfig): StanzaError {
    return config.accessModel === 'presence'
      ? pubsubError('not-authorized', 'presence-subscription-required', 'Only contacts with a presence subscription may read this node')
      : pubsubError('not-allowed', 'closed-node', 'This node is private to its owner');
  }

  /** RFC 6121: the contact receives the owner's presence ('from' or 'both' in the owner's roster). */
  private isSubscriber(owner: Jid, contact: Jid): boolean {
    const item = this.roster.get(owner.bareJid(), contact.bareJid());
    return item !== undefined && (item.subscription === 'from' || item.subscription === 'both');
  }

  // ---- publishing ------------------------------------------------------------------------------

  publish(owner: Jid, node: string, item: { id?: string; payload: Element }, options?: Partial<NodeConfig>, publisher: Jid = owner): PepItem {
    const payload = cloneElement(item.payload);
    // Declared on the payload itself, so it stays right outside the <item/> it came in.
    if (payload.attrs.xmlns === undefined && payload.getNS()) payload.attrs.xmlns = payload.getNS();
    const size = Buffer.byteLength(payload.toString());
    if (size > this.limits.maxItemBytes) {
      throw new StanzaError('not-acceptable', `The item is ${size} bytes; this server stores at most ${this.limits.maxItemBytes}`);
    }
    const stored: PepItem = { id: item.id ?? newItemId(), payload, publisher: publisher.bare, publishedAt: new Date() };
    const config = this.store.transaction(() => {
      let current = this.store.node(owner.bare, node);
      if (!current) {
        // XEP-0163 4.3.1 / XEP-0060 7.1.5: the first publish creates the node with the options as its configuration.
        current = this.newNodeConfig(node, options);
        this.createNode(owner, node, current);
      } else if (options && !optionsMatch(current, options)) {
        throw pubsubError('conflict', 'precondition-not-met', 'The node exists with a different configuration than the publish-options ask for');
      }
      this.store.putItem(owner.bare, node, stored, current.maxItems);
      return current;
    });
    this.notify(owner, node, config, () => xml('items', { node }, itemElement(stored)));
    return stored;
  }

  createNode(owner: Jid, node: string, config: NodeConfig): void {
    if (this.store.node(owner.bare, node)) throw new StanzaError('conflict', `The node ${node} already exists`);
    if (this.store.nodeCount(owner.bare) >= this.limits.maxNodes) {
      throw new StanzaError('resource-constraint', `An account may have at most ${this.limits.maxNodes} nodes`, { type: 'cancel' });
    }
    this.store.createNode(owner.bare, node, config);
  }

  retract(owner: Jid, node: string, itemIds: readonly string[], notify?: boolean): number {
    const config = this.store.node(owner.bare, node);
    if (!config) return 0;
    const removed = this.store.removeItems(owner.bare, node, itemIds);
    if (removed.length > 0 && (notify ?? config.notifyRetract)) {
      this.notify(owner, node, config, () => xml('items', { node }, ...removed.map((id) => xml('retract', { id }))));
    }
    return removed.length;
  }

  purge(owner: Jid, node: string): boolean {
    const config = this.store.node(owner.bare, node);
    if (!config) return false;
    this.store.purge(owner.bare, node);
    if (config.notifyRetract) this.notify(owner, node, config, () => xml('purge', { node }));
    return true;
  }

  deleteNode(owner: Jid, node: string): boolean {
    const config = this.store.node(owner.bare, node);
    if (!config || !this.store.deleteNode(owner.bare, node)) return false;
    if (config.notifyDelete) this.notify(owner, node, config, () => xml('delete', { node }));
    return true;
  }

  configure(owner: Jid, node: string, options: Partial<NodeConfig>): void {
    const config = this.store.node(owner.bare, node);
    if (!config) throw new StanzaError('item-not-found', `No node ${node}`);
    const next = { ...config, ...options };
    this.store.transaction(() => {
      this.store.configure(owner.bare, node, next);
      // Fewer items allowed: the oldest go at once.
      if (next.maxItems < config.maxItems) {
        const keep = new Set(this.store.items(owner.bare, node, next.maxItems).map((i) => i.id));
        this.store.removeItems(owner.bare, node, this.store.items(owner.bare, node).map((i) => i.id).filter((id) => !keep.has(id)));
      }
    });
  }

  items(owner: Jid, node: string, limit?: number): PepItem[] {
    return this.store.items(owner.bare, node, limit);
  }

  itemsById(owner: Jid, node: string, ids: readonly string[]): PepItem[] {
    return this.store.itemsById(owner.bare, node, ids);
  }

  forgetAccount(owner: string): void {
    this.store.removeOwner(owner);
  }

  // ---- notifications (XEP-0163 4.3.2, filtered per XEP-0060 9.2) ----------------------------

  /**
   * The sessions that get notifications of `owner`'s node: the owner's own available resources and,
   * unless the node is private, those of contacts with a presence subscription, in either case only
   * when their entity capabilities say "node+notify".
   */
  private recipients(owner: Jid, node: string, config: NodeConfig): Session[] {
    const feature = `${node}+notify`;
    const wants = (s: Session) => this.caps.featuresOf(s)?.has(feature) === true;
    const out = this.ctx.sessions.availableOf(owner.bare).filter(wants);
    if (config.accessModel === 'whitelist') return out;
    for (const contact of this.roster.subscribersOf(owner.bareJid())) {
      const jid = Jid.tryParse(contact);
      if (!jid || jid.bare === owner.bare || !this.ctx.accounts.isLocalDomain(jid.domain)) continue;
      for (const s of this.ctx.sessions.availableOf(jid.bare)) if (wants(s)) out.push(s);
    }
    return out;
  }

  private notify(owner: Jid, node: string, config: NodeConfig, event: () => Element): void {
    for (const session of this.recipients(owner, node, config)) {
      this.ctx.router.deliver(session, notification(owner, session, event()));
    }
  }

  // ---- the last published item (XEP-0163 4.3.3) ---------------------------------------------

  /**
   * A session's capabilities are known: it gets the newest item of every node it wants
   * notifications for, from its own account and from every contact whose presence it may see.
   */
  capsKnown(session: Session): void {
    const user = session.jid.bareJid();
    const owners = [user];
    for (const contact of this.roster.subscriptionsOf(user)) {
      const jid = Jid.tryParse(contact);
      if (!jid || jid.bare === user.bare || !this.ctx.accounts.isLocalDomain(jid.domain)) continue;
      if (this.isSubscriber(jid.bareJid(), user)) owners.push(jid.bareJid());
    }
    this.sendLastItems(session, owners, 'presence');
  }

  /**
   * `stanza/in` (observes only): a local user approves a subscription with presence 'subscribed'.
   * The newest items follow once the presence module has updated both rosters, which it does
   * while routing this stanza, so they are sent on the next turn.
   */
  readonly noteApproval = (event: StanzaEvent): Verdict | undefined => {
    if (event.kind !== 'presence' || event.type !== 'subscribed' || !event.origin || event.to.local === '') return undefined;
    if (!this.ctx.accounts.isLocalDomain(event.to.domain)) return undefined;
    const owner = event.from.bareJid();
    const contact = event.to.bareJid();
    this.ctx.timers.after(0, () => this.subscriptionApproved(owner, contact));
    return undefined;
  };

  /** `owner` approved `contact`'s subscription: the contact's available sessions get the newest items. */
  subscriptionApproved(owner: Jid, contact: Jid): void {
    if (!this.isSubscriber(owner, contact)) return;
    for (const session of this.ctx.sessions.availableOf(contact.bare)) this.sendLastItems(session, [owner], 'subscription');
  }

  private sendLastItems(session: Session, owners: readonly Jid[], trigger: 'presence' | 'subscription'): void {
    const features = this.caps.featuresOf(session);
    if (!features || features.size === 0) return;
    for (const owner of owners) {
      for (const { node, config } of this.store.nodes(owner.bare)) {
        if (config.sendLastPublishedItem === 'never') continue;
        if (trigger === 'presence' && config.sendLastPublishedItem !== 'on_sub_and_presence') continue;
        if (!features.has(`${node}+notify`) || !this.mayRead(owner, config, session.jid)) continue;
        const last = this.store.items(owner.bare, node, 1)[0];
        if (!last) continue;
        // XEP-0060 6.1.7: the last published item comes with the time it was published (XEP-0203).
        const message = notification(owner, session, xml('items', { node }, itemElement(last)));
        message.append(delayStamp(owner.bare, last.publishedAt));
        this.ctx.router.deliver(session, message);
      }
    }
  }
}

/** `<item id>` with a copy of the payload (stanzas may be rewritten per recipient). */
export function itemElement(item: PepItem): Element {
  return xml('item', { id: item.id }, cloneElement(item.payload));
}

/** XEP-0163 example 6: a headline from the owner's bare JID. */
function notification(owner: Jid, to: Session, event: Element): Element {
  return xml('message', { from: owner.bare, to: to.jid.full, type: 'headline', id: newItemId() },
    xml('event', { xmlns: PUBSUB_EVENT }, event));
}

function newItemId(): string {
  return crypto.randomUUID();
}
