import { Jid, StanzaError } from '../../server/api/index.js';

export const MAM = 'urn:xmpp:mam:2';
/** XEP-0313 section 7: before-id, after-id, ids, flipped pages and the metadata query. */
export const MAM_EXTENDED = 'urn:xmpp:mam:2#extended';
/** XEP-0313 section 7: the server understands 'include-groupchat' (it never has group chat to include). */
export const MAM_GROUPCHAT_FIELD = 'urn:xmpp:mam:2#groupchat-field';
export const RSM = 'http://jabber.org/protocol/rsm';
export const FORWARD = 'urn:xmpp:forward:0';
export const STANZA_ID = 'urn:xmpp:sid:0';
export const XDATA_VALIDATE = 'http://jabber.org/protocol/xdata-validate';

/** XEP-0082 DateTime: CCYY-MM-DDThh:mm:ss[.sss]TZD. */
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A XEP-0082 DateTime as ms since the epoch, or a bad-request naming the field. Fractions finer
 * than a millisecond are cut off (the archive stamps milliseconds).
 */
export function parseDateTime(value: string, field: string): number {
  const m = DATE_TIME.exec(value.trim());
  const ms = m ? Date.parse(`${m[1]}T${m[2]}${m[3] ? `.${m[3].slice(0, 3).padEnd(3, '0')}` : ''}${m[4]}`) : Number.NaN;
  if (Number.isNaN(ms)) throw new StanzaError('bad-request', `'${field}' must be a XEP-0082 date and time such as 2026-01-05T09:00:00Z, not '${value}'`);
  return ms;
}

/** A JID from a form or a preference list, prepared: bare when it has no resource. */
export function parseJid(value: string, what: string): string {
  const jid = Jid.tryParse(value.trim());
  if (!jid) throw new StanzaError('bad-request', `${what}: '${value}' is not a valid JID`);
  return jid.full;
}

/** XEP-0082 DateTime of a capture time. */
export function stamp(ts: number): string {
  return new Date(ts).toISOString();
}
