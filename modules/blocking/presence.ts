import { Jid, cloneElement, xml, type Element, type ModuleContext } from '../../server/api/index.js';
import type {} from '../roster/service.js'; // the roster service's type, when that module is loaded

/**
 * XEP-0191 3.3-3.5: presence goes only to contacts allowed to see the user's presence
 * (subscription 'from' or 'both'). Without the roster module nobody has a subscription, so
 * nobody is told.
 */
function maySeePresence(ctx: ModuleContext<unknown>, owner: string, contact: Jid): boolean {
  const roster = ctx.services.find('roster');
  const sub = roster?.get(Jid.parse(owner), contact.bareJid())?.subscription;
  return sub === 'from' || sub === 'both';
}

/**
 * XEP-0191 section 3.3: when a user blocks a contact, each of the user's available resources
 * tells the contact it went unavailable, so the user appears offline from then on. Only
 * contacts with a localpart that may see the user's presence are told (a blocked domain stands
 * for contacts who stop receiving anything anyway).
 */
export function announceBlocked(ctx: ModuleContext<unknown>, owner: string, blocked: readonly Jid[]): void {
  const contacts = blocked.filter((j) => j.local !== '' && maySeePresence(ctx, owner, j));
  if (contacts.length === 0) return;
  const sessions = ctx.sessions.availableOf(owner);
  for (const contact of contacts) {
    for (const s of sessions) send(ctx, xml('presence', { type: 'unavailable', from: s.jid.full, to: contact.full }));
  }
}

/**
 * XEP-0191 section 3.4/3.5: when a contact is unblocked, each available resource of the user sends
 * its current presence again, and the user's account probes the contact (RFC 6121 4.3) so the
 * user's clients learn the contact's presence, which was dropped while the block lasted.
 */
export function announceUnblocked(ctx: ModuleContext<unknown>, owner: string, unblocked: readonly Jid[]): void {
  const contacts = unblocked.filter((j) => j.local !== '' && maySeePresence(ctx, owner, j));
  if (contacts.length === 0) return;
  const sessions = ctx.sessions.availableOf(owner).filter((s) => s.presence !== null);
  if (sessions.length === 0) return;
  for (const contact of contacts) {
    for (const s of sessions) send(ctx, presenceTo(s.presence!, s.jid.full, contact.full));
    send(ctx, xml('presence', { type: 'probe', from: owner, to: contact.bare }));
  }
}

function presenceTo(current: Element, from: string, to: string): Element {
  const copy = cloneElement(current);
  copy.attrs.from = from;
  copy.attrs.to = to;
  return copy;
}

/** Through the whole pipeline, so the presence module routes it and policy sees it. */
function send(ctx: ModuleContext<unknown>, stanza: Element): void {
  ctx.router.send(stanza).catch((err: unknown) => {
    ctx.log.warn({ err, type: stanza.attrs.type ?? 'available' }, 'presence after a block-list change could not be sent');
  });
}
