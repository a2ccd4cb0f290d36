import { NS, StanzaError, xml, type Element } from '../../server/api/index.js';
import type { HistoryQuery } from '../archive/service.js';
import { MAM, parseDateTime, parseJid, RSM, XDATA_VALIDATE } from './protocol.js';

/** A query as the archive runs it, with what only the answer needs. */
export interface ParsedQuery {
  history: HistoryQuery;
  /** Echoed in every result (XEP-0313 section 4.2). */
  queryId: string | undefined;
  /** XEP-0313 4.3.4: send the page newest first. */
  flip: boolean;
}

/** Fields of the query form this server understands (XEP-0313 section 4.1, 4.1.5). */
const FIELDS = new Set(['FORM_TYPE', 'with', 'start', 'end', 'before-id', 'after-id', 'ids', 'include-groupchat']);

/** XEP-0313 4.1.5: the form a client may fetch before querying. No field is marked required. */
export function queryForm(): Element {
  const field = (v: string, type: string, label: string, ...children: Element[]) => xml('field', { var: v, type, label }, ...children);
  return xml('query', { xmlns: MAM }, xml('x', { xmlns: NS.DATA_FORMS, type: 'form' },
    field('FORM_TYPE', 'hidden', '', xml('value', {}, MAM)),
    field('with', 'jid-single', 'Only messages to or from this JID'),
    field('start', 'text-single', 'Only messages at or after this time (XEP-0082)'),
    field('end', 'text-single', 'Only messages at or before this time (XEP-0082)'),
    field('before-id', 'text-single', 'Only messages before this archive id'),
    field('after-id', 'text-single', 'Only messages after this archive id'),
    // 4.1.5: the possible ids are not listed; the list is open.
    field('ids', 'list-multi', 'Only these archive ids', xml('validate', { xmlns: XDATA_VALIDATE, datatype: 'xs:string' }, xml('open'))),
    field('include-groupchat', 'boolean', 'Include group chat messages (user archives never hold them)'),
  ));
}

/**
 * Read a MAM query (`<query xmlns='urn:xmpp:mam:2'>` with an optional data form, RSM set and
 * flip-page) for the owner's archive. `maxPage` caps the page size (XEP-0313 4.3.1: the server may
 * limit what it returns). Throws StanzaErrors: bad-request for malformed values and forms,
 * feature-not-implemented for a field this server does not know (4.1.5).
 */
export function parseQuery(payload: Element, owner: string, maxPage: number): ParsedQuery {
  if (payload.attrs.node !== undefined) throw new StanzaError('feature-not-implemented', 'Pubsub node archives (XEP-0442) are not offered here');
  const history: HistoryQuery = { owner, max: maxPage };
  const form = payload.getChild('x', NS.DATA_FORMS);
  if (form) readForm(form, history);
  const set = payload.getChild('set', RSM);
  if (set) readRsm(set, history, maxPage);
  return { history, queryId: payload.attrs.queryid, flip: payload.getChild('flip-page', MAM) !== undefined };
}

function readForm(form: Element, q: HistoryQuery): void {
  const type = form.attrs.type ?? 'submit';
  if (type !== 'submit') throw new StanzaError('bad-request', `The query form must be of type 'submit', not '${type}'`);
  for (const field of form.getChildren('field')) {
    const name = field.attrs.var ?? '';
    const values = field.getChildren('value').map((v) => v.getText());
    if (!FIELDS.has(name)) throw new StanzaError('feature-not-implemented', `Unknown query field '${name}'`);
    // An empty field filters nothing (clients send the whole form with blanks).
    const value = values[0]?.trim() ?? '';
    if (name === 'ids') {
      const ids = values.map((v) => v.trim()).filter((v) => v !== '');
      if (ids.length > 0) q.ids = [...new Set(ids)];
      continue;
    }
    if (value === '') continue;
    if (values.length > 1) throw new StanzaError('bad-request', `The field '${name}' takes one value`);
    switch (name) {
      case 'FORM_TYPE':
        if (value !== MAM) throw new StanzaError('bad-request', `The form's FORM_TYPE must be ${MAM}`);
        break;
      case 'with': q.with = parseJid(value, "The field 'with'"); break;
      case 'start': q.start = parseDateTime(value, 'start'); break;
      case 'end': q.end = parseDateTime(value, 'end'); break;
      case 'after-id': q.afterId = value; break;
      case 'before-id': q.beforeId = value; break;
      case 'include-groupchat':
        // Understood and answered honestly: a user's history never holds group chat (rooms keep their own archive).
        if (!['true', 'false', '1', '0'].includes(value)) throw new StanzaError('bad-request', "'include-groupchat' must be true or false");
        break;
    }
  }
}

/** XEP-0059: max, after, before ('' = the last page), index. Combinations RSM leaves undefined are refused. */
function readRsm(set: Element, q: HistoryQuery, maxPage: number): void {
  const count = (name: string): number | undefined => {
    const el = set.getChild(name, RSM);
    if (!el) return undefined;
    const text = el.getText().trim();
    if (!/^\d{1,15}$/.test(text)) throw new StanzaError('bad-request', `RSM <${name}/> must be a non-negative integer`);
    return Number(text);
  };
  const max = count('max');
  if (max !== undefined) q.max = Math.min(max, maxPage);
  const index = count('index');
  const after = set.getChild('after', RSM);
  const before = set.getChild('before', RSM);
  if (after && before) throw new StanzaError('bad-request', 'RSM <after/> and <before/> together are undefined; use after-id and before-id in the form');
  if (index !== undefined && (after || before)) throw new StanzaError('bad-request', 'RSM <index/> cannot be combined with <after/> or <before/>');
  if (after) {
    const id = after.getText().trim();
    if (id === '') throw new StanzaError('bad-request', 'RSM <after/> needs an archive id');
    q.after = id;
  }
  if (before) q.before = before.getText().trim();
  if (index !== undefined) q.index = index;
}
