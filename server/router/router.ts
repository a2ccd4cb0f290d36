import { Element, xml } from '@xmpp/xml';
import type { Logger } from 'pino';
import { StanzaError } from '../api/errors.js';
import type { IqAddressee, RouterApi } from '../api/context.js';
import type { IqEvent, StanzaEvent } from '../api/events.js';
import type { Session } from '../api/session.js';
import type { Verdict } from '../api/verdicts.js';
import { resultReply } from '../api/stanza.js';
import { LogThrottle } from '../api/log-throttle.js';
import type { HookRegistry } from '../host/hooks.js';
import { EventFailedClosed, type EventBus } from '../host/events.js';
import type { IqTable } from '../host/iq-table.js';
import type { SessionRegistry } from '../session/registry.js';
import { Jid } from '../xml/jid.js';
import { ClientSession } from '../session/client-session.js';
import { InboundRefusal, inboundFromClient, inboundFromServer, nextStanzaId } from './inbound.js';
import { bounceReply, toStanzaError } from './errors.js';
import { deliverToSessions, recipientsForBareJid } from './deliver.js';

export interface RouterDeps {
  log: Logger;
  hooks: HookRegistry;
  events: EventBus;
  iq: IqTable;
  sessions: SessionRegistry;
  isLocalDomain(domain: string): boolean;
  accountExists(bare: Jid): Promise<boolean>;
}

/** How a client's stanza is ordered after the one before it (see Router.fromClient). */
export interface Ordering {
  /** Resolves when the sender's previous stanza has been routed; never rejects. */
  after?: Promise<void>;
  /** Set by the router: policy and audit ran in the call, only routing waits. */
  accepted: boolean;
}

interface PendingIq { resolve(el: Element): void; reject(err: Error): void; timer: NodeJS.Timeout }

type Addressee = 'server' | 'bare' | 'full' | 'remote';

/**
 * At most one "stanza refused" line per this interval: while an audit listener cannot record
 * (a full disk, a locked archive) every message is refused, and a line for each would fill the
 * log, often on the same disk. The lines left out are counted in the next one.
 */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * The stanza pipeline after negotiation: inbound → stanza/in (GUARD, POLICY) → stanza/audit →
 * route → delivery, with bounces for whatever cannot be delivered. See docs/pipeline.md.
 */
export class Router implements RouterApi {
  private readonly pending = new Map<string, PendingIq>();
  private readonly refusals = new LogThrottle(REFUSAL_LOG_INTERVAL_MS);

  constructor(private readonly d: RouterDeps) {}

  // ---- entry points -------------------------------------------------------------------------

  /**
   * A stanza from a bound client. Throws StreamError when the stream must end (spoofed from).
   * With `order`, the stanza is routed only after `order.after` (the sender's previous stanza)
   * has been; `order.accepted` is set when policy and the audit have already run in this call, so
   * the caller may hand over the sender's next stanza while this one waits for its record.
   */
  fromClient(session: Session, stanza: Element, order?: Ordering): void | Promise<void> {
    let event: StanzaEvent;
    try {
      event = inboundFromClient(session, stanza);
    } catch (err) {
      if (err instanceof InboundRefusal) {
        this.replyTo(session, stanza, err.error);
        return;
      }
      throw err;
    }
    return this.pipeline(event, order);
  }

  /** A stanza made by a module: the whole pipeline, policy and audit included. */
  async send(stanza: Element): Promise<void> {
    await this.pipeline(inboundFromServer(stanza));
  }

  /**
   * Route again a stanza that a session received but never acknowledged (XEP-0198): routing and
   * delivery only, no policy or audit (they saw it the first time). Messages get a delay stamp
   * and go where the RFC sends them now (another resource, offline storage); IQ requests are
   * answered with an error; presence is stale and not repeated.
   */
  reroute(stanza: Element): void {
    const type = stanza.attrs.type;
    if (stanza.name === 'iq') {
      if (type === 'get' || type === 'set') this.bounce(stanza, new StanzaError('recipient-unavailable', 'The recipient disconnected before handling the request'));
      return;
    }
    if (stanza.name !== 'message' || type === 'error' || type === 'groupchat' || type === 'headline') return;
    if (!stanza.getChild('delay', 'urn:xmpp:delay')) {
      const domain = Jid.tryParse(stanza.attrs.to ?? '')?.domain;
      stanza.append(xml('delay', { xmlns: 'urn:xmpp:delay', from: domain, stamp: new Date().toISOString() }, 'Resent'));
    }
    let event: StanzaEvent;
    try {
      event = inboundFromServer(stanza);
    } catch (err) {
      this.d.log.warn({ err: (err as Error).message }, 'an unacknowledged stanza could not be routed again');
      return;
    }
    const r = this.route(event);
    if (r instanceof Promise) r.catch((err) => this.d.log.error({ err, stanzaId: event.id }, 're-routing failed'));
  }

  deliver(session: Session, stanza: Element): boolean {
    return session.deliver(stanza);
  }

  deliverToBareJid(stanza: Element, bare: Jid): number {
    const recipients = recipientsForBareJid(this.d.sessions, bare, stanza.name, stanza.attrs.type ?? (stanza.name === 'message' ? 'normal' : ''));
    return deliverToSessions(recipients, stanza);
  }

  reply(event: StanzaEvent, reply: Element): void {
    if (event.origin) event.origin.deliver(reply);
    else void this.send(reply).catch(() => undefined);
  }

  bounce(stanza: Element, error: StanzaError): void {
    const reply = bounceReply(stanza, error);
    if (reply) this.deliverReply(reply);
  }

  request(iq: Element, timeoutMs = 30_000): Promise<Element> {
    if (!iq.attrs.id) iq.attrs.id = nextStanzaId();
    const key = `${iq.attrs.to ?? ''}\u0000${iq.attrs.id}`;
    return new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new StanzaError('remote-server-timeout', `no answer to IQ ${iq.attrs.id} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(key, { resolve, reject, timer });
      this.send(iq).catch((err) => {
        clearTimeout(timer);
        this.pending.delete(key);
        reject(err);
      });
    });
  }

  /** Fail every server-made IQ still waiting (shutdown). */
  cancelPending(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('server stopping'));
    }
    this.pending.clear();
  }

  // ---- pipeline -----------------------------------------------------------------------------

  private pipeline(event: StanzaEvent, order?: Ordering): void | Promise<void> {
    const verdict = this.d.hooks.run('stanza/in', event, { stanzaId: event.id, session: event.origin?.id });
    // Asynchronous policy: not accepted in this call, so the caller waits for the whole of it.
    if (verdict instanceof Promise) return verdict.then((v) => this.afterPolicy(event, v, order && { after: order.after, accepted: false }));
    return this.afterPolicy(event, verdict, order);
  }

  private afterPolicy(event: StanzaEvent, verdict: Verdict | undefined, order?: Ordering): void | Promise<void> {
    const after = order?.after;
    if (!this.d.events.has('stanza/audit')) return after ? after.then(() => this.decide(event, verdict)) : this.decide(event, verdict);
    const outcome = verdict === undefined ? 'allowed' : verdict;
    const refuse = (err: unknown) => {
      // Fail closed: what could not be recorded is not delivered (DESIGN.md step 6).
      const refused = this.refusals.note();
      if (refused > 0) {
        const module = err instanceof EventFailedClosed ? err.module : 'audit';
        this.d.log.error({ stanzaId: event.id, session: event.origin?.id, module, refusedSinceLastLine: refused }, 'audit failed; stanza refused');
      }
      this.bounceEvent(event, new StanzaError('internal-server-error', 'The server could not record this stanza, so it was not delivered'));
    };
    let audited: void | Promise<void>;
    try {
      audited = this.d.events.run('stanza/audit', { event, outcome });
    } catch (err) {
      return refuse(err);
    }
    if (audited instanceof Promise) {
      if (order) order.accepted = true;
      if (!after) return audited.then(() => this.decide(event, verdict), refuse);
      // Routed, or refused, only after the previous stanza: the sender's stanzas finish in order.
      const settled = audited.then(() => null, (err: unknown) => ({ err }));
      return Promise.all([settled, after]).then(([failure]) => (failure ? refuse(failure.err) : this.decide(event, verdict)));
    }
    return after ? after.then(() => this.decide(event, verdict)) : this.decide(event, verdict);
  }

  private decide(event: StanzaEvent, verdict: Verdict | undefined): void | Promise<void> {
    if (verdict === undefined || verdict.kind === 'rewrite') return this.route(event);
    if (verdict.kind === 'block') return this.bounceEvent(event, verdict.error);
    if (verdict.kind === 'drop') this.d.log.info({ stanzaId: event.id, session: event.origin?.id, reason: verdict.reason }, 'stanza dropped by policy');
  }

  // ---- routing (RFC 6120 10) ----------------------------------------------------------------

  private classify(to: Jid): Addressee {
    if (!this.d.isLocalDomain(to.domain)) return 'remote';
    if (to.local === '') return 'server';
    return to.resource === '' ? 'bare' : 'full';
  }

  private route(event: StanzaEvent): void | Promise<void> {
    const addressee = this.classify(event.to);
    if (addressee === 'remote') return this.routeWithHook('route/remote', event, () => this.unroutable(event, new StanzaError('not-allowed', 'Communication with remote domains is not enabled')));
    if (event.kind === 'iq') return this.routeIq(event, addressee);
    if (addressee === 'server') {
      return this.routeWithHook(event.kind === 'message' ? 'message/server' : 'presence/server', event, () => this.unhandled(event));
    }
    const sessions = this.d.sessions.ofAccount(event.to.bare);
    if (sessions.length > 0) return this.routeToAccount(event, addressee);
    // Nobody online: does the account exist at all? (RFC 6121 8.5.1)
    return this.d.accountExists(event.to.bareJid()).then((exists) => {
      if (!exists) return this.noSuchUser(event);
      return this.routeToAccount(event, addressee);
    });
  }

  private routeToAccount(event: StanzaEvent, addressee: 'bare' | 'full'): void | Promise<void> {
    if (event.kind === 'presence') {
      if (event.toImplicit) {
        // What contacts and probes see is the presence as policy left it (e.g. with the avatar hash).
        if (event.origin instanceof ClientSession && event.stanza.attrs.type !== 'error') event.origin.presence = event.stanza;
        return this.routeWithHook('presence/broadcast', event, () => undefined);
      }
      return this.routeWithHook(addressee === 'bare' ? 'presence/bare' : 'presence/full', event, () => this.unhandled(event));
    }
    return this.routeWithHook(addressee === 'bare' ? 'message/bare' : 'message/full', event, () => this.unhandled(event));
  }

  private routeWithHook(name: 'message/server' | 'message/bare' | 'message/full' | 'presence/server' | 'presence/bare' | 'presence/full' | 'presence/broadcast' | 'route/remote' | 'iq/full',
    event: StanzaEvent, fallback: () => void): void | Promise<void> {
    const v = this.d.hooks.run(name, event, { stanzaId: event.id, session: event.origin?.id });
    if (v instanceof Promise) return v.then((r) => this.afterRouteHook(event, r, fallback));
    return this.afterRouteHook(event, v, fallback);
  }

  private afterRouteHook(event: StanzaEvent, v: Verdict | undefined, fallback: () => void): void {
    if (v === undefined || v.kind === 'rewrite') return fallback();
    if (v.kind === 'block') return this.bounceEvent(event, v.error);
    if (v.kind === 'drop') this.d.log.debug({ stanzaId: event.id, reason: v.reason }, 'stanza dropped');
  }

  /** RFC 6121 8.5.1: the account does not exist. */
  private noSuchUser(event: StanzaEvent): void {
    if (event.kind === 'presence') {
      // RFC 6121 3.1.3 / 4.3.1: a subscription request or probe for an account that does not exist is
      // answered 'unsubscribed' (through the pipeline, so the sender's roster is corrected); the rest is ignored.
      if (event.type === 'subscribe' || event.type === 'probe') {
        void this.send(xml('presence', { type: 'unsubscribed', from: event.to.bare, to: event.from.bare }))
          .catch((err) => this.d.log.error({ err, stanzaId: event.id }, 'could not answer a request for a non-existent account'));
      }
      return;
    }
    this.bounceEvent(event, new StanzaError('service-unavailable', 'No such user'));
  }

  /** No module took the stanza: presence is ignored, headlines vanish by definition, the rest bounces. */
  private unhandled(event: StanzaEvent): void {
    if (event.kind === 'presence') return;
    if (event.kind === 'message' && event.type === 'headline') return;
    this.unroutable(event, new StanzaError('service-unavailable', 'The recipient is not available'));
  }

  private unroutable(event: StanzaEvent, error: StanzaError): void {
    if (event.kind === 'presence' && event.type === 'unavailable') return;
    this.bounceEvent(event, error);
  }

  // ---- IQ dispatch (RFC 6120 8.2.3) ---------------------------------------------------------

  private routeIq(event: StanzaEvent, addressee: Exclude<Addressee, 'remote'>): void | Promise<void> {
    const type = event.type;
    if (type === 'result' || type === 'error') {
      if (addressee === 'full') return this.deliverIqToFull(event);
      return this.resolvePending(event);
    }
    if (addressee === 'full') return this.routeWithHook('iq/full', event, () => this.deliverIqToFull(event));
    if (addressee === 'bare' && event.from.bare !== event.to.bare && this.d.sessions.ofAccount(event.to.bare).length === 0) {
      // Handlers answer on an account's behalf only for accounts that exist (RFC 6121 8.5.1).
      return this.d.accountExists(event.to.bareJid()).then((exists) => {
        if (!exists) return this.bounceEvent(event, new StanzaError('service-unavailable', 'No such user'));
        return this.dispatchIq(event, addressee);
      });
    }
    return this.dispatchIq(event, addressee);
  }

  private dispatchIq(event: StanzaEvent, addressee: 'server' | 'bare'): void | Promise<void> {
    const type = event.type;
    const payload = event.stanza.getChildElements()[0]!;
    const xmlns = payload.getNS() ?? '';
    const name = payload.getName();
    const order: IqAddressee[] = addressee === 'server'
      ? ['server']
      : event.from.bare === event.to.bare
        // RFC 6120 10.3.3: handled on the account's behalf; no 'to' also reaches server features (ping, disco, version).
        ? (event.toImplicit ? ['self', 'account', 'server'] : ['self', 'account'])
        : ['account'];
    for (const to of order) {
      const reg = this.d.iq.find(to, type, xmlns, name);
      if (reg) return this.callIqHandler(event as IqEvent, payload, reg.fn, reg.module);
    }
    if (addressee === 'bare' && event.from.bare !== event.to.bare) {
      this.d.log.debug({ stanzaId: event.id, xmlns }, 'IQ to an account with no handler');
    }
    this.bounceEvent(event, new StanzaError('service-unavailable', `No handler for ${name} in ${xmlns}`));
  }

  private callIqHandler(event: IqEvent, payload: Element, fn: (iq: IqEvent) => unknown, module: string): void | Promise<void> {
    (event as { payload: Element }).payload = payload;
    const respond = (r: unknown) => {
      if (r && typeof r === 'object' && 'kind' in r && (r as Verdict).kind === 'handled') return;
      this.deliverReply(resultReply(event.stanza, r instanceof Element ? r : undefined));
    };
    const fail = (err: unknown) => {
      if (!(err instanceof StanzaError)) this.d.log.error({ module, stanzaId: event.id, session: event.origin?.id, err }, 'IQ handler failed');
      this.bounceEvent(event, toStanzaError(err, module));
    };
    let r: unknown;
    try {
      r = fn(event);
    } catch (err) {
      return fail(err);
    }
    if (r instanceof Promise) return r.then(respond, fail);
    respond(r);
  }

  private deliverIqToFull(event: StanzaEvent): void {
    const session = this.d.sessions.byFullJid(event.to.full);
    if (session && session.deliver(event.stanza)) return;
    // RFC 6121 8.5.3.2.3: an IQ to a resource that is not there gets service-unavailable.
    this.bounceEvent(event, new StanzaError('service-unavailable', 'The addressed resource is not online'));
  }

  private resolvePending(event: StanzaEvent): void {
    const key = `${event.from.full}\u0000${event.stanza.attrs.id}`;
    let p = this.pending.get(key);
    let k = key;
    if (!p) { k = `${event.from.bare}\u0000${event.stanza.attrs.id}`; p = this.pending.get(k); }
    if (!p) {
      this.d.log.debug({ stanzaId: event.id, id: event.stanza.attrs.id }, 'unsolicited IQ response ignored');
      return;
    }
    this.pending.delete(k);
    clearTimeout(p.timer);
    if (event.type === 'result') p.resolve(event.stanza);
    else {
      const cond = event.stanza.getChild('error')?.getChildElements()[0]?.getName() ?? 'undefined-condition';
      const err = new StanzaError(cond as 'undefined-condition', event.stanza.getChild('error')?.getChildText('text') ?? undefined);
      p.reject(err);
    }
  }

  // ---- answers ------------------------------------------------------------------------------

  bounceEvent(event: StanzaEvent, error: StanzaError): void {
    const reply = bounceReply(event.stanza, error);
    if (!reply) return;
    if (event.origin) {
      // The error goes back to the client as sent by the addressee it could not reach.
      reply.attrs.from = event.stanza.attrs.to ?? event.to.full;
      reply.attrs.to = event.origin.jid.full;
      if (event.toImplicit) delete reply.attrs.from;
      event.origin.deliver(reply);
    } else {
      this.deliverReply(reply);
    }
    if (this.d.events.has('stanza/bounced')) void this.d.events.emit('stanza/bounced', { event, condition: error.condition });
  }

  private replyTo(session: Session, stanza: Element, error: StanzaError): void {
    const reply = bounceReply(stanza, error);
    if (!reply) return;
    reply.attrs.to = session.jid.full;
    session.deliver(reply);
  }

  /** A server-made answer (IQ result, error): straight to the addressee's session, not audited again. */
  private deliverReply(reply: Element): void {
    const to = Jid.tryParse(reply.attrs.to ?? '');
    if (!to || !this.d.isLocalDomain(to.domain)) {
      if (to) void this.d.hooks.run('route/remote', inboundFromServer(reply));
      return;
    }
    if (to.local === '') {
      if (reply.name === 'iq') this.resolvePending({ ...inboundFromServer(reply) });
      return;
    }
    if (to.resource) {
      this.d.sessions.byFullJid(to.full)?.deliver(reply);
      return;
    }
    deliverToSessions(this.d.sessions.ofAccount(to.bare), reply);
  }
}

/** A `<iq type='get'>` from the server to `to`, for `request()`. */
export function serverIq(from: string, to: string, type: 'get' | 'set', payload: Element): Element {
  return xml('iq', { type, from, to, id: nextStanzaId() }, payload);
}
