import {
  NS, cloneElement, rewrite, xml,
  type Element, type Jid, type ModuleContext, type Session, type StanzaEvent, type Verdict,
} from '../../server/api/index.js';
import { CARBONS, FORWARD, copiesRefused, isEligible } from './eligibility.js';

type Ctx = Pick<ModuleContext, 'sessions' | 'router'>;

/**
 * XEP-0280 Message Carbons: which sessions asked for copies, and the copies themselves. Copies are
 * made by the server, written straight to the sessions (through their `stanza/out` hooks) and not
 * audited again: the archive saw the original once.
 */
export class Carbons {
  private readonly enabled = new WeakSet<Session>();

  constructor(private readonly ctx: Ctx) {}

  /** Section 3/4; enabling or disabling twice is not an error (section 9.1). */
  setEnabled(session: Session, on: boolean): void {
    if (on) this.enabled.add(session); else this.enabled.delete(session);
  }

  isEnabled(session: Session): boolean {
    return this.enabled.has(session);
  }

  /**
   * `message/bare` and `message/full`, POLICY stage (before delivery): a message for a local
   * account. Its sender's other resources get a `<sent/>` copy, the recipient's resources that the
   * RFC 6121 rules do not give it to get a `<received/>` copy.
   */
  readonly localMessage = (event: StanzaEvent): Verdict | undefined => {
    if (event.kind !== 'message' || !isEligible(event.stanza, event.type)) return undefined;
    if (copiesRefused(event.stanza)) return withoutPrivate(event.stanza);
    // A message between two resources of one account: the received copies cover everybody.
    if (event.origin && event.from.bare !== event.to.bare) this.sentCopies(event);
    this.receivedCopies(event);
    return undefined;
  };

  /** `route/remote`, POLICY stage: a local user's message leaves the server; only `<sent/>` copies. */
  readonly remoteMessage = (event: StanzaEvent): Verdict | undefined => {
    if (event.kind !== 'message' || !event.origin || !isEligible(event.stanza, event.type) || copiesRefused(event.stanza)) return undefined;
    this.sentCopies(event);
    return undefined;
  };

  /**
   * Section 7: to every Carbons-enabled resource of the sender except the one that sent it (which
   * need not have Carbons enabled itself).
   */
  private sentCopies(event: StanzaEvent): void {
    for (const s of this.ctx.sessions.ofAccount(event.from.bare)) {
      if (s === event.origin || !this.enabled.has(s)) continue;
      this.ctx.router.deliver(s, wrap('sent', event.stanza, s));
    }
  }

  /**
   * Section 6: to every Carbons-enabled resource of the recipient that does not get the message
   * itself under RFC 6121 8.5, bare or full JID alike (and never to the resource that sent it).
   */
  private receivedCopies(event: StanzaEvent): void {
    const sessions = this.ctx.sessions.ofAccount(event.to.bare);
    if (sessions.length === 0) return;
    const recipients = rfcRecipients(sessions, event.to);
    for (const s of sessions) {
      if (s === event.origin || recipients.has(s) || !this.enabled.has(s)) continue;
      this.ctx.router.deliver(s, wrap('received', event.stanza, s));
    }
  }
}

/**
 * Who gets a chat or normal message under RFC 6121 8.5 (the message module's rules): the addressed
 * resource when it is connected (8.5.3.1), otherwise, as for the bare JID (8.5.3.2.1, 8.5.2.1.1),
 * the available resources with the highest non-negative priority.
 */
export function rfcRecipients(sessions: readonly Session[], to: Jid): Set<Session> {
  if (to.resource) {
    const addressed = sessions.find((s) => s.open && s.jid.full === to.full);
    if (addressed) return new Set([addressed]);
  }
  let best = -1;
  let chosen: Session[] = [];
  for (const s of sessions) {
    if (!s.open || !s.available || s.priority < 0) continue;
    if (s.priority > best) { best = s.priority; chosen = [s]; } else if (s.priority === best) chosen.push(s);
  }
  return new Set(chosen);
}

/**
 * A forwarded copy (XEP-0297 inside `<sent/>` or `<received/>`), from the user's bare JID to one of
 * their resources, keeping the original's type and id.
 */
export function wrap(kind: 'sent' | 'received', original: Element, to: Session): Element {
  const inner = cloneElement(original);
  inner.attrs.xmlns = NS.CLIENT;
  return xml('message', { from: to.jid.bare, to: to.jid.full, type: original.attrs.type, id: original.attrs.id },
    xml(kind, { xmlns: CARBONS }, xml('forwarded', { xmlns: FORWARD }, inner)));
}

/** Section 8: the receiving server SHOULD remove `<private/>` before delivering to the recipient. */
function withoutPrivate(stanza: Element): Verdict | undefined {
  if (!stanza.getChild('private', CARBONS)) return undefined;
  const copy = cloneElement(stanza);
  copy.children = copy.children.filter((c) => typeof c === 'string' || !(c.name === 'private' && c.getNS() === CARBONS));
  return rewrite(copy);
}
