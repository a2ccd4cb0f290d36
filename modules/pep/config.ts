import { NS, StanzaError, xml, type Element } from '../../server/api/index.js';
import type { AccessModel, NodeConfig, SendLastPublished } from './service.js';

export const PUBSUB = 'http://jabber.org/protocol/pubsub';
export const PUBSUB_OWNER = 'http://jabber.org/protocol/pubsub#owner';
export const PUBSUB_EVENT = 'http://jabber.org/protocol/pubsub#event';
export const PUBSUB_ERRORS = 'http://jabber.org/protocol/pubsub#errors';
export const PUBLISH_OPTIONS = 'http://jabber.org/protocol/pubsub#publish-options';
export const NODE_CONFIG = 'http://jabber.org/protocol/pubsub#node_config';

/** A stanza error with a pubsub#errors condition (XEP-0060 section 7 onwards). */
export function pubsubError(condition: ConstructorParameters<typeof StanzaError>[0], app: string, text: string, attrs: Record<string, string> = {}): StanzaError {
  return new StanzaError(condition, text, { app: xml(app, { xmlns: PUBSUB_ERRORS, ...attrs }) });
}

/** PEP defaults (XEP-0163 section 4.1, XEP-0060 section 4.5): contacts read, one item, last item on presence. */
export const PEP_DEFAULTS: NodeConfig = {
  accessModel: 'presence',
  maxItems: 1,
  persistItems: true,
  sendLastPublishedItem: 'on_sub_and_presence',
  notifyRetract: true,
  notifyDelete: true,
  title: '',
};

const ACCESS_MODELS = new Set<string>(['open', 'presence', 'whitelist']);
const SEND_LAST = new Set<string>(['never', 'on_sub', 'on_sub_and_presence']);

/** The node options this service understands, by field name, with how to read them. */
type OptionReader = (value: string, maxItemsLimit: number) => Partial<NodeConfig> | 'unsupported';
const bool = (v: string): boolean | null => (v === '1' || v === 'true' ? true : v === '0' || v === 'false' ? false : null);

const OPTIONS: Record<string, OptionReader> = {
  'pubsub#access_model': (v) => (ACCESS_MODELS.has(v) ? { accessModel: v as AccessModel } : 'unsupported'),
  'pubsub#max_items': (v, limit) => {
    if (v === 'max') return { maxItems: limit };
    const n = Number(v);
    return Number.isInteger(n) && n >= 1 && n <= limit ? { maxItems: n } : 'unsupported';
  },
  'pubsub#persist_items': (v) => { const b = bool(v); return b === null ? 'unsupported' : { persistItems: b }; },
  'pubsub#send_last_published_item': (v) => (SEND_LAST.has(v) ? { sendLastPublishedItem: v as SendLastPublished } : 'unsupported'),
  'pubsub#notify_retract': (v) => { const b = bool(v); return b === null ? 'unsupported' : { notifyRetract: b }; },
  'pubsub#notify_delete': (v) => { const b = bool(v); return b === null ? 'unsupported' : { notifyDelete: b }; },
  'pubsub#title': (v) => ({ title: v }),
  // Always on in this service: accepted when asked for as they are.
  'pubsub#deliver_payloads': (v) => (bool(v) === true ? {} : 'unsupported'),
  'pubsub#deliver_notifications': (v) => (bool(v) === true ? {} : 'unsupported'),
  'pubsub#presence_based_delivery': (v) => (bool(v) === true ? {} : 'unsupported'),
  'pubsub#notify_config': (v) => (bool(v) === false ? {} : 'unsupported'),
  'pubsub#notify_sub': (v) => (bool(v) === false ? {} : 'unsupported'),
  'pubsub#type': () => ({}),
};

/**
 * The options of a submitted publish-options or node_config form. `onUnsupported` says what an
 * option this service cannot honour becomes: precondition-not-met for publish-options (XEP-0060
 * 7.1.5), not-acceptable for a configuration (8.2.5).
 */
export function readOptions(x: Element, maxItemsLimit: number, onUnsupported: (field: string, value: string) => StanzaError): Partial<NodeConfig> {
  const out: Partial<NodeConfig> = {};
  for (const field of x.getChildren('field')) {
    const name = field.attrs.var;
    if (!name || name === 'FORM_TYPE') continue;
    const value = field.getChildText('value') ?? '';
    const reader = OPTIONS[name];
    const read = reader ? reader(value, maxItemsLimit) : 'unsupported';
    if (read === 'unsupported') throw onUnsupported(name, value);
    Object.assign(out, read);
  }
  return out;
}

/** XEP-0060 7.1.5: every given option must equal the node's configuration. */
export function optionsMatch(config: NodeConfig, options: Partial<NodeConfig>): boolean {
  return (Object.keys(options) as (keyof NodeConfig)[]).every((k) => options[k] === config[k]);
}

/** XEP-0060 8.2: the configuration form of a node. */
export function configForm(config: NodeConfig, maxItemsLimit: number): Element {
  const field = (name: string, type: string, value: string, label: string, options?: string[]) => xml('field', { var: name, type, label },
    ...(options ?? []).map((o) => xml('option', {}, xml('value', {}, o))), xml('value', {}, value));
  return xml('x', { xmlns: NS.DATA_FORMS, type: 'form' },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, NODE_CONFIG)),
    field('pubsub#title', 'text-single', config.title, 'A friendly name for the node'),
    field('pubsub#access_model', 'list-single', config.accessModel, 'Who may read the items', ['open', 'presence', 'whitelist']),
    field('pubsub#max_items', 'text-single', String(config.maxItems), `Items to keep (at most ${maxItemsLimit}, or "max")`),
    field('pubsub#persist_items', 'boolean', config.persistItems ? '1' : '0', 'Store items'),
    field('pubsub#send_last_published_item', 'list-single', config.sendLastPublishedItem, 'When to send the last item', ['never', 'on_sub', 'on_sub_and_presence']),
    field('pubsub#notify_retract', 'boolean', config.notifyRetract ? '1' : '0', 'Notify when items are retracted'),
    field('pubsub#notify_delete', 'boolean', config.notifyDelete ? '1' : '0', 'Notify when the node is deleted'),
    field('pubsub#deliver_payloads', 'boolean', '1', 'Deliver payloads with notifications'));
}
