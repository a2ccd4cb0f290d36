import { NS, StanzaError, xml, type Element, type Session, type SessionDirectory } from '../../server/api/index.js';
import type { LastActivity, LastActivityStore } from './store.js';

function query(seconds: number, text?: string): Element {
  return xml('query', { xmlns: NS.LAST, seconds: String(Math.max(0, Math.floor(seconds))) }, text || undefined);
}

/** XEP-0012 section 5: asked of the server, the answer is its uptime, without text. */
export function uptimeAnswer(startedAt: number, now = Date.now()): Element {
  return query((now - startedAt) / 1000);
}

/**
 * XEP-0012 section 3: asked of an account's bare JID, the seconds since it last logged out and the
 * status it left with; zero while one of its resources is available.
 */
export function logoutAnswer(store: LastActivityStore, sessions: SessionDirectory, bare: string, now = Date.now()): Element {
  if (sessions.availableOf(bare).length > 0) return query(0);
  const last = store.get(bare);
  if (!last) throw new StanzaError('item-not-found', 'This account has not logged out since the server began recording');
  return query((now - last.at) / 1000, last.status);
}

/** What a session that just ended leaves behind: its unavailable presence's status, if it sent one. */
export function activityOfClosedSession(session: Session, now = Date.now()): LastActivity {
  const presence = session.presence;
  const status = presence?.attrs.type === 'unavailable' ? presence.getChildText('status') ?? '' : '';
  return { at: now, status };
}
