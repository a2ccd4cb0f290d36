import {
  NS, StanzaError, xml,
  type Element, type IqEvent, type IqHandler,
} from '../../server/api/index.js';
import {
  PUBLISH_OPTIONS, PUBSUB, PUBSUB_OWNER, configForm, pubsubError, readOptions,
} from './config.js';
import { itemElement, type PersonalEventing } from './pep.js';
import type { NodeConfig } from './service.js';

const nodeRequired = () => pubsubError('bad-request', 'nodeid-required', 'The request names no node');
const noNode = (node: string) => new StanzaError('item-not-found', `No node ${node}`);
const unsupported = (feature: string) => pubsubError('feature-not-implemented', 'unsupported',
  `This PEP service does not support ${feature}`, { feature });

/** The options of a publish-options or configure form, or undefined when there is none. */
function formOptions(pep: PersonalEventing, parent: Element | undefined, precondition: boolean): Partial<NodeConfig> | undefined {
  const x = parent?.getChild('x', NS.DATA_FORMS);
  if (!x) return undefined;
  return readOptions(x, pep.limits.maxItems, (field, value) => (precondition
    // XEP-0060 7.1.5: an option the service cannot honour fails the precondition.
    ? pubsubError('conflict', 'precondition-not-met', `Unsupported publish option ${field}=${value}`)
    : new StanzaError('not-acceptable', `Unsupported node option ${field}=${value}`)));
}

/** `<pubsub/>` set on one's own account: publish, retract, create (XEP-0060 7.1, 7.2, 8.1). */
export function pubsubSet(pep: PersonalEventing): IqHandler {
  return (iq: IqEvent) => {
    const owner = iq.from.bareJid();
    const op = iq.payload.getChildElements()[0];
    switch (op?.name) {
      case 'publish': {
        const node = op.attrs.node;
        if (!node) throw nodeRequired();
        const items = op.getChildren('item');
        if (items.length === 0) throw pubsubError('bad-request', 'item-required', 'Nothing to publish: no <item/>');
        if (items.length > 1) throw pubsubError('bad-request', 'invalid-payload', 'Publish one item at a time');
        const payloads = items[0]!.getChildElements();
        if (payloads.length === 0) throw pubsubError('bad-request', 'payload-required', 'The item has no payload');
        if (payloads.length > 1) throw pubsubError('bad-request', 'invalid-payload', 'An item has exactly one payload element');
        const options = formOptions(pep, iq.payload.getChild('publish-options'), true);
        if (options !== undefined) checkFormType(iq.payload.getChild('publish-options')!, PUBLISH_OPTIONS);
        const stored = pep.publish(owner, node, { id: items[0]!.attrs.id || undefined, payload: payloads[0]! }, options, iq.from);
        return xml('pubsub', { xmlns: PUBSUB }, xml('publish', { node }, xml('item', { id: stored.id })));
      }
      case 'retract': {
        const node = op.attrs.node;
        if (!node) throw nodeRequired();
        const ids = op.getChildren('item').map((i) => i.attrs.id ?? '').filter((id) => id !== '');
        if (ids.length === 0) throw pubsubError('bad-request', 'item-required', 'Name the items to retract');
        if (!pep.nodeConfig(owner, node)) throw noNode(node);
        const notify = op.attrs.notify === 'true' || op.attrs.notify === '1' ? true : undefined;
        if (pep.retract(owner, node, ids, notify) === 0) throw new StanzaError('item-not-found', 'No such item');
        return undefined;
      }
      case 'create': {
        const node = op.attrs.node;
        // PEP nodes have well-known names; instant nodes make no sense here.
        if (!node) throw pubsubError('not-acceptable', 'nodeid-required', 'Give the node a name');
        const options = formOptions(pep, iq.payload.getChild('configure'), false);
        pep.createNode(owner, node, pep.newNodeConfig(node, options));
        return undefined;
      }
      case 'subscribe':
      case 'unsubscribe':
      case 'options':
        // Subscriptions to PEP nodes are implicit (presence and +notify, XEP-0163 4.3).
        throw unsupported('subscribe');
      default:
        throw new StanzaError('bad-request', `<${op?.name ?? 'nothing'}/> is not a pubsub request this service knows`);
    }
  };
}

/** `<pubsub/>` set addressed to another account: nobody publishes on someone else's PEP. */
export function pubsubSetForeign(): IqHandler {
  return (iq: IqEvent) => {
    const op = iq.payload.getChildElements()[0]?.name;
    if (op === 'subscribe' || op === 'unsubscribe' || op === 'options') throw unsupported('subscribe');
    throw new StanzaError('forbidden', 'Only the owner of a PEP service publishes to it');
  };
}

/** `<pubsub/>` get: items (XEP-0060 6.5), one's own affiliations and subscriptions (5.6, 5.7). */
export function pubsubGet(pep: PersonalEventing): IqHandler {
  return (iq: IqEvent) => {
    const owner = iq.to.bareJid();
    const own = owner.bare === iq.from.bare;
    const op = iq.payload.getChildElements()[0];
    switch (op?.name) {
      case 'items': {
        const node = op.attrs.node;
        if (!node) throw nodeRequired();
        const config = pep.nodeConfig(owner, node);
        if (!config) throw noNode(node);
        if (!pep.mayRead(owner, config, iq.from)) throw pep.readRefusal(config);
        const ids = op.getChildren('item').map((i) => i.attrs.id ?? '').filter((id) => id !== '');
        let items;
        if (ids.length > 0) {
          items = pep.itemsById(owner, node, ids);
        } else {
          const max = op.attrs.max_items !== undefined ? Number(op.attrs.max_items) : undefined;
          if (max !== undefined && !(Number.isInteger(max) && max >= 0)) throw new StanzaError('bad-request', 'max_items must be a whole number');
          items = pep.items(owner, node, max);
        }
        return xml('pubsub', { xmlns: PUBSUB }, xml('items', { node }, ...items.map(itemElement)));
      }
      case 'affiliations':
        if (!own) throw unsupported('retrieve-affiliations');
        return xml('pubsub', { xmlns: PUBSUB }, xml('affiliations', {},
          ...pep.nodes(owner).filter((n) => !op.attrs.node || n.node === op.attrs.node)
            .map((n) => xml('affiliation', { node: n.node, affiliation: 'owner' }))));
      case 'subscriptions':
        // No explicit subscriptions exist on this service.
        return xml('pubsub', { xmlns: PUBSUB }, xml('subscriptions'));
      default:
        throw unsupported(op?.name ?? 'this request');
    }
  };
}

/** `<pubsub xmlns='…#owner'/>` on one's own account: configure, default, delete, purge (XEP-0060 section 8). */
export function ownerGet(pep: PersonalEventing): IqHandler {
  return (iq: IqEvent) => {
    const owner = iq.from.bareJid();
    const op = iq.payload.getChildElements()[0];
    if (op?.name === 'configure') {
      const node = op.attrs.node;
      if (!node) throw nodeRequired();
      const config = pep.nodeConfig(owner, node);
      if (!config) throw noNode(node);
      return xml('pubsub', { xmlns: PUBSUB_OWNER }, xml('configure', { node }, configForm(config, pep.limits.maxItems)));
    }
    if (op?.name === 'default') {
      return xml('pubsub', { xmlns: PUBSUB_OWNER }, xml('default', {}, configForm(pep.newNodeConfig(''), pep.limits.maxItems)));
    }
    if (op?.name === 'affiliations') {
      const node = op.attrs.node;
      if (!node || !pep.nodeConfig(owner, node)) throw noNode(node ?? '');
      return xml('pubsub', { xmlns: PUBSUB_OWNER }, xml('affiliations', { node }, xml('affiliation', { jid: owner.bare, affiliation: 'owner' })));
    }
    if (op?.name === 'subscriptions') {
      const node = op.attrs.node;
      if (!node || !pep.nodeConfig(owner, node)) throw noNode(node ?? '');
      return xml('pubsub', { xmlns: PUBSUB_OWNER }, xml('subscriptions', { node }));
    }
    throw unsupported(op?.name ?? 'this request');
  };
}

export function ownerSet(pep: PersonalEventing): IqHandler {
  return (iq: IqEvent) => {
    const owner = iq.from.bareJid();
    const op = iq.payload.getChildElements()[0];
    const node = op?.attrs.node;
    switch (op?.name) {
      case 'configure': {
        if (!node) throw nodeRequired();
        const x = op.getChild('x', NS.DATA_FORMS);
        if (!x) throw new StanzaError('bad-request', 'No configuration form');
        if (x.attrs.type === 'cancel') return undefined;
        const options = formOptions(pep, op, false) ?? {};
        pep.configure(owner, node, options);
        return undefined;
      }
      case 'delete':
        if (!node) throw nodeRequired();
        if (!pep.deleteNode(owner, node)) throw noNode(node);
        return undefined;
      case 'purge':
        if (!node) throw nodeRequired();
        if (!pep.purge(owner, node)) throw noNode(node);
        return undefined;
      default:
        throw unsupported(op?.name ?? 'this request');
    }
  };
}

/** Owner operations on another account's nodes. */
export function ownerForeign(): IqHandler {
  return () => { throw new StanzaError('forbidden', 'Only the owner of a PEP service manages its nodes'); };
}

/** XEP-0060 7.1.5: the form in publish-options has that FORM_TYPE. */
function checkFormType(parent: Element, formType: string): void {
  const x = parent.getChild('x', NS.DATA_FORMS)!;
  const declared = x.getChildren('field').find((f) => f.attrs.var === 'FORM_TYPE')?.getChildText('value');
  if (declared !== undefined && declared !== formType) {
    throw pubsubError('bad-request', 'invalid-options', `The publish-options form must have FORM_TYPE ${formType}`);
  }
}
