import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { NS, xml, type Element } from '../../server/api/index.js';
import type { HistoryItem, HistoryPage } from '../archive/service.js';
import { FORWARD, MAM, RSM, STANZA_ID, stamp } from './protocol.js';

/**
 * The archive keeps each message as the XML text Parley's own serialiser wrote from a stanza the
 * restricted parser had accepted, so ltx's plain parser reads it back safely. (The module API has
 * no parser of its own to offer; ltx ships no types, hence the typed require.)
 */
const parseXml = createRequire(import.meta.url)('ltx/lib/parse.js') as (text: string) => Element;

/**
 * The archived message for a result: in the client namespace (XEP-0297 forwards a complete
 * stanza), without any stanza-id that claims to be this archive's (only the result's id counts,
 * XEP-0359 security considerations). Null when the stored text cannot be read.
 */
export function archivedMessage(item: HistoryItem, owner: string): Element | null {
  let message: Element;
  try {
    message = parseXml(item.stanza);
  } catch {
    return null;
  }
  if (message.name !== 'message') return null;
  message.attrs.xmlns = NS.CLIENT;
  message.children = message.children.filter((c) => typeof c === 'string'
    || !(c.name === 'stanza-id' && c.attrs.xmlns === STANZA_ID && c.attrs.by === owner));
  return message;
}

/**
 * XEP-0313 section 4.2: one result, sent to the requesting resource from the archive's address
 * (the owner's bare JID, which clients check, section 8.2). The delay stamp is the capture time.
 * A message that cannot be read is sent as a result without the message, as section 3.2 allows
 * for removed content, so paging stays consistent.
 */
export function resultMessage(item: HistoryItem, owner: string, to: string, queryId: string | undefined, message: Element | null): Element {
  return xml('message', { to, from: owner, id: randomUUID() },
    xml('result', { xmlns: MAM, queryid: queryId, id: item.id },
      xml('forwarded', { xmlns: FORWARD }, xml('delay', { xmlns: NS.DELAY, stamp: stamp(item.ts) }), message)));
}

/**
 * XEP-0313 4.3.2: the IQ result's `<fin/>` with the RSM set of the page: first (with its index),
 * last and count; only count for an empty page. `complete` is set when the page reaches the end of
 * the result in the direction of paging, and left out otherwise.
 */
export function finElement(page: HistoryPage): Element {
  const set = xml('set', { xmlns: RSM });
  const first = page.items[0];
  const last = page.items[page.items.length - 1];
  if (first && last) {
    set.append(xml('first', { index: String(page.firstIndex) }, first.id));
    set.append(xml('last', {}, last.id));
  }
  set.append(xml('count', {}, String(page.count)));
  return xml('fin', { xmlns: MAM, complete: page.complete ? 'true' : undefined }, set);
}
