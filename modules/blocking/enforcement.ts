import {
  Jid, NS, StanzaError, block, drop, xml, type HookResult, type OutgoingEvent, type StanzaEvent,
} from '../../server/api/index.js';
import type { Blocklists } from './blocklists.js';
import { isBlocked } from './matcher.js';

export interface EnforcementDeps {
  lists: Blocklists;
  /** The server's own hosted domains are never blocked: a user could not even unblock any more. */
  isLocalDomain(domain: string): boolean;
}

/**
 * XEP-0191 section 3.3, at `stanza/in` GUARD: nothing passes between a user and a JID they
 * blocked, in either direction. For a user who blocks nobody this costs two Map lookups.
 */
export function blockingGuard(d: EnforcementDeps): (event: StanzaEvent) => HookResult {
  const isServer = (jid: Jid) => jid.isDomain && d.isLocalDomain(jid.domain);
  return (event) => {
    const { from, to } = event;
    if (from.bare === to.bare) return undefined;
    const senderList = d.lists.of(from.bare);
    if (senderList && !isServer(to) && isBlocked(senderList, to)) return refuseOutbound(event);
    const recipientList = d.lists.of(to.bare);
    if (recipientList && !isServer(from) && isBlocked(recipientList, from)) return refuseInbound(event);
    return undefined;
  };
}

/** The user sends to a JID they blocked: not-acceptable with <blocked/>, so their client can say why. */
function refuseOutbound(event: StanzaEvent): HookResult {
  switch (event.kind) {
    case 'presence':
      // Unavailable presence still goes out: it is what the block itself sends (section 3.3), and
      // telling a blocked contact "gone" reveals nothing. Anything else would undo the block.
      if (event.type === 'unavailable') return undefined;
      return drop('presence to a JID the sender has blocked');
    case 'message':
      if (event.type === 'error') return drop('error to a JID the sender has blocked');
      return block(blockedError());
    case 'iq':
      if (event.type === 'result' || event.type === 'error') return drop('IQ response to a JID the sender has blocked');
      return block(blockedError());
  }
}

/**
 * A blocked JID sends to the user: the user appears offline (section 3.3). Presence gets no
 * answer at all; messages and IQ requests get the same service-unavailable an offline account
 * would give; IQ responses and errors vanish.
 */
function refuseInbound(event: StanzaEvent): HookResult {
  switch (event.kind) {
    case 'presence':
      return drop('presence from a JID the recipient has blocked');
    case 'message':
      if (event.type === 'error') return drop('error from a JID the recipient has blocked');
      return block(new StanzaError('service-unavailable', 'The recipient is not available'));
    case 'iq':
      if (event.type === 'result' || event.type === 'error') return drop('IQ response from a JID the recipient has blocked');
      return block(new StanzaError('service-unavailable'));
  }
}

function blockedError(): StanzaError {
  return new StanzaError('not-acceptable', 'You have blocked this contact; unblock it to communicate', {
    type: 'cancel',
    app: xml('blocked', { xmlns: NS.BLOCKING_ERRORS }),
  });
}

/**
 * At `stanza/out`: copies that never went through `stanza/in` (offline replay of messages stored
 * before the block, presence a module delivers straight to a session) are held back too, so the
 * user really receives nothing from a blocked JID. Errors pass: they answer the user's own stanzas.
 */
export function blockingOutFilter(d: EnforcementDeps): (event: OutgoingEvent) => HookResult {
  return ({ session, stanza }) => {
    if (stanza.name === 'iq' || stanza.attrs.type === 'error') return undefined;
    const list = d.lists.of(session.jid.bare);
    if (!list) return undefined;
    const from = Jid.tryParse(stanza.attrs.from ?? '');
    if (!from || from.bare === session.jid.bare || (from.isDomain && d.isLocalDomain(from.domain))) return undefined;
    return isBlocked(list, from) ? drop('from a JID the recipient has blocked') : undefined;
  };
}
