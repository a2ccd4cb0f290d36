import {
  Jid, NS, StanzaError, handled, resultReply, xml, type Element, type IqEvent, type ModuleContext, type Session,
  type Verdict,
} from '../../server/api/index.js';
import type { Blocklists } from './blocklists.js';
import { announceBlocked, announceUnblocked } from './presence.js';

/**
 * XEP-0191 sections 3.2-3.5: the block list commands, sent by a client to its own account, and the
 * pushes that keep the user's other clients in step.
 */
export function registerBlockingCommands(ctx: ModuleContext<unknown>, lists: Blocklists): void {
  // Section 3.3: pushes go to the resources that have requested the block list in this session.
  const interested = new WeakSet<Session>();
  let pushes = 0;

  const push = (owner: string, payload: () => Element) => {
    for (const s of ctx.sessions.ofAccount(owner)) {
      if (interested.has(s)) ctx.router.deliver(s, xml('iq', { type: 'set', id: `blocking-push-${++pushes}`, to: s.jid.full }, payload()));
    }
  };

  /** The requester gets its result before the pushes, in the order of the XEP's examples. */
  const answerThenPush = (iq: IqEvent, after: () => void): Verdict | undefined => {
    if (!iq.origin) { after(); return undefined; }
    ctx.router.deliver(iq.origin, resultReply(iq.stanza));
    after();
    return handled();
  };

  ctx.iq.handle({ type: 'get', xmlns: NS.BLOCKING, name: 'blocklist', to: 'self' }, (iq) => {
    if (iq.origin) interested.add(iq.origin);
    return itemsElement('blocklist', lists.items(iq.from.bare));
  });

  ctx.iq.handle({ type: 'set', xmlns: NS.BLOCKING, name: 'block', to: 'self' }, (iq) => {
    const owner = iq.from.bare;
    const jids = requestedJids(iq.payload);
    if (jids.length === 0) throw new StanzaError('bad-request', 'A block command needs at least one item');
    const added = new Set(lists.block(owner, jids.map((j) => j.full)));
    return answerThenPush(iq, () => {
      push(owner, () => itemsElement('block', jids.map((j) => j.full)));
      announceBlocked(ctx, owner, jids.filter((j) => added.has(j.full)));
    });
  });

  ctx.iq.handle({ type: 'set', xmlns: NS.BLOCKING, name: 'unblock', to: 'self' }, (iq) => {
    const owner = iq.from.bare;
    const jids = requestedJids(iq.payload);
    // Section 3.5: an unblock without items unblocks everything.
    const removed = jids.length === 0 ? lists.unblockAll(owner) : lists.unblock(owner, jids.map((j) => j.full));
    return answerThenPush(iq, () => {
      push(owner, () => itemsElement('unblock', jids.map((j) => j.full)));
      announceUnblocked(ctx, owner, removed.map((j) => Jid.parse(j)));
    });
  });
}

/** The JIDs of the <item/> children, prepared and without duplicates. */
function requestedJids(payload: Element): Jid[] {
  const jids = new Map<string, Jid>();
  for (const item of payload.getChildren('item', NS.BLOCKING)) {
    const raw = item.attrs.jid;
    if (raw === undefined || raw === '') throw new StanzaError('bad-request', 'Each item needs a jid attribute');
    const jid = Jid.tryParse(raw);
    if (!jid) throw new StanzaError('jid-malformed', `'${raw}' is not a valid JID`);
    jids.set(jid.full, jid);
  }
  return [...jids.values()];
}

function itemsElement(name: 'blocklist' | 'block' | 'unblock', jids: readonly string[]): Element {
  return xml(name, { xmlns: NS.BLOCKING }, ...jids.map((jid) => xml('item', { jid })));
}
