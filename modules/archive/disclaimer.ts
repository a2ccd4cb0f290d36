import { randomUUID } from 'node:crypto';
import {
  Jid, xml, type AuditEvent, type Element, type KeyValueStore, type ModuleContext, type Session, type StanzaEvent,
} from '../../server/api/index.js';
import { carriesContent, isOurs } from './capture.js';
import type { ArchiveConfig } from './config.js';

type DisclaimerConfig = ArchiveConfig['disclaimer'];

const NS_HINTS = 'urn:xmpp:hints';
const SUBJECT = 'Recording notice';
/** Recent notices remembered in memory in front of the key/value store. */
const CACHE_LIMIT = 10_000;
const LOGIN_KEY = 'login';

/**
 * The recording notice: at login (once per account per period, whichever device logs in first)
 * and/or when a conversation with an external contact starts (once per pair of people per
 * period, to both sides). The notice comes from the server's domain as a type 'normal' message
 * with a subject, because clients hide headlines.
 */
export function setupDisclaimer(ctx: ModuleContext<ArchiveConfig>, cfg: DisclaimerConfig): void {
  if (!cfg.at_login && !cfg.external) return;
  const logins = new NoticeLedger(ctx.storage.keyValue<number>('disclaimer-login'), cfg.period);
  const pairs = new NoticeLedger(ctx.storage.keyValue<number>('disclaimer-pairs'), cfg.period);
  let stopped = false;
  ctx.onUnload(() => { stopped = true; });

  ctx.events.on('account/deleted', ({ jid }) => {
    const bare = Jid.tryParse(jid)?.bare ?? jid;
    logins.forget(bare);
    pairs.forget(bare);
  });

  if (cfg.at_login) {
    // Initial presence of the account's first device in the period. A second device logging in
    // within the period gets nothing: the person has seen the notice (at most once per period).
    ctx.events.on('session/available', ({ session, initial }) => {
      if (!initial || !session.open || session.kind === 'service') return;
      const bare = session.jid.bare;
      const now = Date.now();
      if (logins.isRecent(bare, LOGIN_KEY, now)) return;
      if (!ctx.router.deliver(session, notice(cfg.text, session.jid.domain, session.jid.full, 'local'))) return;
      logins.mark(bare, LOGIN_KEY, now);
      ctx.log.debug({ session: session.id }, 'recording notice sent at login');
    });
  }

  if (!cfg.external) return;

  const isLocalAccount = (jid: Jid) => jid.local !== '' && ctx.accounts.isLocalDomain(jid.domain);
  /** Pairs whose notice is being decided or sent, so that a burst of messages sends one notice. */
  const inFlight = new Set<string>();
  /** Messages the router bounced: a conversation that did not happen gets no notice. */
  const bounced = new WeakSet<StanzaEvent>();
  ctx.events.on('stanza/bounced', ({ event }) => { bounced.add(event); });

  /**
   * Whether one side is an extranet partner account: false for a remote JID or a component, the
   * kind of its sessions when known without waiting (its origin, an online session), else undefined.
   */
  const partnerNow = (jid: Jid, local: boolean, origin: Session | null): boolean | undefined => {
    if (!local) return false;
    const kind = origin?.kind ?? ctx.sessions.ofAccount(jid.bare)[0]?.kind;
    return kind === undefined ? undefined : kind === 'partner';
  };

  const sendNotices = (event: StanzaEvent, pair: Pair) => {
    const { from, to } = event;
    for (const [side, other] of [[from, to], [to, from]] as const) {
      if (isLocalAccount(side)) {
        for (const s of ctx.sessions.availableOf(side.bare)) {
          if (s.kind !== 'service') ctx.router.deliver(s, notice(cfg.text, side.domain, s.jid.full, 'local'));
        }
      } else if (!isOurs(side.domain, ctx.accounts)) {
        // Through the whole pipeline, so policy applies and the archive records that the external
        // party was told; the federation module carries it. Without one it bounces back to our
        // own domain, where the router drops the error: no noise.
        ctx.router.send(notice(cfg.text, other.domain, side.full, 'remote')).catch((err: Error) => {
          ctx.log.warn({ stanzaId: event.id, err: err.message }, 'the recording notice could not be sent to the external contact');
        });
      }
      // A component on a subdomain of ours (rooms) is not a person: nothing to tell it.
    }
    pairs.mark(pair.owner, pair.other, Date.now());
    ctx.log.debug({ stanzaId: event.id }, 'recording notice sent for a conversation with an external contact');
  };

  /**
   * After the message: `stanza/audit` listeners run in order and routing follows the last one,
   * so by the next turn of the event loop the message has been routed (and delivered to online
   * local recipients). The person sees their message go first, the message is never held back
   * for the notice, and a message that bounced (no such user, no federation) starts nothing.
   */
  const scheduleNotices = (event: StanzaEvent, pair: Pair) => {
    inFlight.add(pair.key);
    setImmediate(() => {
      try {
        if (!stopped && !bounced.has(event)) sendNotices(event, pair);
      } catch (err) {
        ctx.log.warn({ stanzaId: event.id, err: (err as Error).message }, 'the recording notice could not be sent');
      } finally {
        inFlight.delete(pair.key);
      }
    });
  };

  // Not failClosed and never a promise: the notice must not delay, or refuse, the message.
  ctx.events.on('stanza/audit', (audit) => { considerConversation(audit); });

  function considerConversation({ event, outcome }: AuditEvent): void {
    if (event.kind !== 'message' || (event.type !== 'chat' && event.type !== 'normal')) return;
    if (outcome !== 'allowed' && outcome.kind !== 'rewrite') return;
    const { from, to } = event;
    // Server-made stanzas (our own notices, bounces) come from a domain; notes to self are no conversation.
    if (from.local === '' || to.local === '' || from.bare === to.bare) return;
    const fromLocal = isLocalAccount(from);
    const toLocal = isLocalAccount(to);
    if (!fromLocal && !toLocal) return;
    if (!carriesContent(event.stanza)) return;
    const pair = pairOf(from.bare, to.bare, fromLocal, toLocal);
    if (inFlight.has(pair.key)) return;

    // Another domain (not a subdomain of ours, such as rooms) is external.
    if (!isOurs(from.domain, ctx.accounts) || !isOurs(to.domain, ctx.accounts)) return startConversation(event, pair);
    // Both sides are ours: external when either local account is an extranet partner.
    const fromPartner = partnerNow(from, fromLocal, event.origin);
    const toPartner = partnerNow(to, toLocal, null);
    if (fromPartner === true || toPartner === true) return startConversation(event, pair);
    if (fromPartner === false && toPartner === false) return;

    // An offline account: ask the providers, off the message's path.
    inFlight.add(pair.key);
    Promise.all([
      fromPartner ?? ctx.accounts.kindOf(from.bareJid()).then((k) => k === 'partner'),
      toPartner ?? ctx.accounts.kindOf(to.bareJid()).then((k) => k === 'partner'),
    ]).then(([a, b]) => {
      inFlight.delete(pair.key);
      if (a || b) startConversation(event, pair);
    }, (err: Error) => {
      inFlight.delete(pair.key);
      ctx.log.warn({ stanzaId: event.id, err: err.message }, 'could not tell whether a conversation is with a partner; no recording notice');
    });
  }

  /** An external conversation: a notice unless this pair had one within the period. */
  function startConversation(event: StanzaEvent, pair: Pair): void {
    if (!pairs.isRecent(pair.owner, pair.other, Date.now())) scheduleNotices(event, pair);
  }
}

/** An unordered pair of bare JIDs, stored under a local one of them (so it goes with that account). */
interface Pair { key: string; owner: string; other: string }

function pairOf(fromBare: string, toBare: string, fromLocal: boolean, toLocal: boolean): Pair {
  const [first, second] = fromBare < toBare ? [fromBare, toBare] : [toBare, fromBare];
  // Both local (a partner and an employee): the first in order owns it, so both directions find the same row.
  const owner = fromLocal && toLocal ? first : fromLocal ? fromBare : toBare;
  return { key: `${first}\u0000${second}`, owner, other: owner === first ? second : first };
}

/** The notice. Local copies are not to be stored or copied anywhere; the remote copy may wait offline but stays out of archives. */
function notice(text: string, from: string, to: string, audience: 'local' | 'remote'): Element {
  return xml('message', { type: 'normal', from, to, id: `disclaimer-${randomUUID()}` },
    xml('subject', {}, SUBJECT),
    xml('body', {}, text),
    // XEP-0334: local copies are delivered straight to online sessions and must not be stored
    // offline or in history; the external party may be offline, so its server may keep the
    // notice for later delivery (no-permanent-store) but not archive it.
    xml(audience === 'local' ? 'no-store' : 'no-permanent-store', { xmlns: NS_HINTS }),
    xml('no-copy', { xmlns: NS_HINTS }));
}

/**
 * When a notice was last sent, per (owner, key): a bounded map in memory in front of the
 * key/value store, which keeps it across restarts. Cached misses are remembered too, so the hot
 * path touches the database once per account or pair.
 */
class NoticeLedger {
  private readonly recent = new Map<string, number>();

  constructor(private readonly store: KeyValueStore<number>, private readonly periodMs: number) {}

  isRecent(owner: string, key: string, now: number): boolean {
    const last = this.lastSent(owner, key);
    return last > 0 && now - last < this.periodMs;
  }

  mark(owner: string, key: string, now: number): void {
    this.remember(`${owner}\u0000${key}`, now);
    this.store.set(owner, key, now);
  }

  forget(owner: string): void {
    this.store.clear(owner);
    const prefix = `${owner}\u0000`;
    for (const k of this.recent.keys()) if (k.startsWith(prefix) || k.endsWith(`\u0000${owner}`)) this.recent.delete(k);
  }

  private lastSent(owner: string, key: string): number {
    const k = `${owner}\u0000${key}`;
    const cached = this.recent.get(k);
    if (cached !== undefined) return cached;
    const stored = this.store.get(owner, key) ?? 0;
    this.remember(k, stored);
    return stored;
  }

  private remember(k: string, ts: number): void {
    this.recent.delete(k);
    this.recent.set(k, ts);
    if (this.recent.size > CACHE_LIMIT) this.recent.delete(this.recent.keys().next().value!);
  }
}
