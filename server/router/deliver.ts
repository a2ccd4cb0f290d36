import type { Element } from '@xmpp/xml';
import type { Session } from '../api/session.js';
import type { SessionRegistry } from '../session/registry.js';
import type { Jid } from '../xml/jid.js';

/**
 * RFC 6121 8.5.2.1: the sessions of an account that a stanza to its bare JID goes to.
 * - message chat/normal: the available resource(s) with the highest non-negative priority;
 * - message headline: every available resource with non-negative priority;
 * - anything else: none (groupchat to a bare JID is an error; presence and IQ have their own rules).
 * Negative priority means "never deliver to me via my bare JID" (RFC 6121 4.7.2.3).
 */
export function recipientsForBareJid(registry: SessionRegistry, bare: Jid | string, kind: string, type: string): Session[] {
  const sessions = registry.ofAccount(bare);
  if (sessions.length === 0 || kind !== 'message') return [];
  if (type === 'headline') return sessions.filter((s) => s.available && s.priority >= 0);
  if (type !== 'chat' && type !== 'normal') return [];
  let best = -1;
  let chosen: Session[] = [];
  for (const s of sessions) {
    if (!s.available || s.priority < 0) continue;
    if (s.priority > best) { best = s.priority; chosen = [s]; }
    else if (s.priority === best) chosen.push(s);
  }
  return chosen;
}

/** Deliver one stanza to several sessions; returns how many accepted it. */
export function deliverToSessions(sessions: readonly Session[], stanza: Element): number {
  let n = 0;
  for (const s of sessions) if (s.deliver(stanza)) n++;
  return n;
}
