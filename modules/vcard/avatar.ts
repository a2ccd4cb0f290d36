import { cloneElement, rewrite, type HookResult, type ModuleContext, type StanzaEvent } from '../../server/api/index.js';
import { withAvatarHash } from './photo.js';
import type { VCards } from './vcards.js';

/**
 * XEP-0153 section 3.1 and 4.1: every available presence a user sends, broadcast or directed,
 * carries the avatar hash of the vCard the server holds. The server computes it and replaces
 * whatever the client put there: the hash must describe what a contact will download.
 */
export function stampAvatarHash(ctx: ModuleContext, vcards: VCards, event: StanzaEvent): HookResult {
  if (event.kind !== 'presence' || event.type !== 'available' || !event.origin) return;
  // Only our own users' presence: a federated peer's users have their vCards elsewhere.
  if (!ctx.accounts.isLocalDomain(event.from.domain)) return;
  const hash = vcards.hashForPresence(event.from.bare);
  if (typeof hash === 'string') return stamped(event, hash);
  return hash.then((h) => stamped(event, h));
}

function stamped(event: StanzaEvent, hash: string): HookResult {
  const copy = withAvatarHash(event.stanza, hash);
  return copy ? rewrite(copy) : undefined;
}

/**
 * The avatar changed: each available resource's last broadcast presence goes again, with the new
 * hash, to all of the user's available resources (RFC 6121 4.4.2, including the one that sent it).
 *
 * Contacts are not reached from here: the module API cannot inject a broadcast presence (one
 * without 'to') into the pipeline, so that is left to the client, which XEP-0153 section 4.2 rule 1
 * obliges to send new presence after uploading a new avatar (and that presence gets the hash).
 */
export function announceAvatar(ctx: ModuleContext, bare: string, hash: string): void {
  const available = ctx.sessions.availableOf(bare);
  for (const sender of available) {
    if (!sender.presence) continue;
    const presence = withAvatarHash(sender.presence, hash) ?? cloneElement(sender.presence);
    presence.attrs.from = sender.jid.full;
    for (const recipient of available) {
      const copy = cloneElement(presence);
      copy.attrs.to = recipient.jid.full;
      ctx.router.deliver(recipient, copy);
    }
  }
}
