import crypto from 'node:crypto';
import { Element, xml } from '@xmpp/xml';
import type { Logger } from 'pino';
import { NS } from '../api/ns.js';
import { StanzaError, StreamError } from '../api/errors.js';
import type { SessionKind, TransportKind } from '../api/session.js';
import type { EventBus } from '../host/events.js';
import type { HookRegistry } from '../host/hooks.js';
import type { Transport } from '../net/transport.js';
import type { Ordering, Router } from '../router/router.js';
import { bounceReply } from '../router/errors.js';
import { SaslFailure, type Mechanism, type SaslBackend, type SaslExchange } from '../sasl/mechanism.js';
import type { AuthThrottle } from '../sasl/throttle.js';
import { ClientSession, type SessionStream } from '../session/client-session.js';
import type { SessionRegistry } from '../session/registry.js';
import { StreamParser, type StreamErrorCondition } from '../xml/parser.js';
import { Jid, JidError } from '../xml/jid.js';
import type { StreamExtensions } from './features.js';
import { checkStreamHeader, emergencyHeader, streamClose, streamHeader } from './header.js';
import { AckOutOfRange, NS_SM, StreamManagementState, isStanza } from './sm.js';

/** What a client stream needs from the server around it. */
export interface C2SEnvironment {
  log: Logger;
  isHosted(domain: string): boolean;
  limits: { maxStanzaBytes: number; maxDepth: number; authTimeoutMs: number; maxSessionsPerUser: number };
  /** The mechanisms a domain offers, in order (PLAIN only where a provider needs the password itself). */
  mechanismsFor(domain: string): readonly Mechanism[];
  saslBackend(domain: string): SaslBackend;
  /** The JID localpart for a login name that authenticated. */
  canonicalLocal(login: string, domain: string): Promise<string>;
  /** Why an account may not log in now, or null. */
  loginRefusal(bare: Jid): Promise<string | null>;
  sessionKind(bare: Jid): Promise<SessionKind>;
  throttle: AuthThrottle;
  sessions: SessionRegistry<ClientSession>;
  router: Router;
  hooks: HookRegistry;
  events: EventBus;
  extensions: StreamExtensions;
  /** Called once when the stream is gone, so the server can forget it. */
  forget(stream: C2SStream): void;
  /** XEP-0198 settings and the server's table of resumable sessions. */
  sm: { enabled: boolean; resumeTimeoutMs: number; maxUnacked: number };
  smSessions: Map<string, ClientSession>;
  /** Keep a session whose connection dropped until it is resumed or its time runs out. */
  hibernate(session: ClientSession): void;
  /** A resumption arrived: stop the hibernation clock. */
  wake(session: ClientSession): void;
  /** End a session for good: unbind, 'session/closed', and re-route what it never acknowledged. */
  endSession(session: ClientSession, clean: boolean, reason: string): void;
}

type State = 'header' | 'tls' | 'auth' | 'bind' | 'bound' | 'closed';

/** RFC 6120 6.4.5: a few retries, then the stream is closed. */
const MAX_AUTH_ATTEMPTS = 5;
/** Messages of one session that may wait for their audit at once before reading pauses. */
const MAX_IN_FLIGHT = 64;

/**
 * One client connection from the first byte to the last: stream header, STARTTLS, SASL, resource
 * binding, then stanzas into the router through a serial queue (one session's stanzas are handled
 * in arrival order; reading pauses while a handler awaits).
 */
export class C2SStream implements SessionStream {
  readonly id = crypto.randomBytes(8).toString('hex');
  private state: State = 'header';
  private parser!: StreamParser;
  private headerSent = false;
  private domain = '';
  private username: string | null = null;
  private authAttempts = 0;
  private exchange: { mech: Mechanism; ex: SaslExchange } | null = null;
  private session: ClientSession | null = null;
  private kind: SessionKind = 'employee';
  private readonly inbox: Element[] = [];
  private busy = false;
  /**
   * Messages accepted but not yet routed (waiting for their audit), oldest first. Each is routed
   * after the one before it, so they leave from the front and the last is the newest.
   */
  private readonly inFlight: Promise<void>[] = [];
  private authTimer: NodeJS.Timeout | null;
  private cleanClose = false;
  /** The server ended the stream on purpose (error, shutdown): no resumption. */
  private closedByServer = false;
  /** The session moved to another connection (resumption); this one just goes away. */
  private handedOver = false;
  private ackRequestTimer: NodeJS.Timeout | null = null;
  private closeReason = 'connection closed';
  readonly log: Logger;

  constructor(private readonly env: C2SEnvironment, private readonly transport: Transport) {
    this.log = env.log.child({ session: this.id });
    this.newParser();
    transport.onData((chunk) => {
      try {
        this.parser.write(chunk);
      } catch (err) {
        // The parser never throws on bad input; this is a bug in our own handlers. Keep serving others.
        this.log.error({ err }, 'failed to handle input');
        this.close(new StreamError('internal-server-error'));
      }
    });
    transport.onClose((reason) => this.transportClosed(reason));
    this.authTimer = setTimeout(() => this.close(new StreamError('connection-timeout', 'authentication took too long')), env.limits.authTimeoutMs);
    this.authTimer.unref();
    this.log.info({ transport: transport.kind, remote: transport.remoteAddress }, 'connection opened');
  }

  get transportKind(): TransportKind { return this.transport.kind; }
  get remoteAddress(): string { return this.transport.remoteAddress; }

  /** Each stream restart (after STARTTLS, after SASL) gets a fresh parser; input for the old one is discarded. */
  private newParser(): void {
    const parser: StreamParser = new StreamParser({
      streamOpen: (_name, attrs) => { if (parser === this.parser) this.onStreamOpen(attrs); },
      element: (el) => { if (parser === this.parser) this.onElement(el); },
      streamClose: () => { if (parser === this.parser) this.onStreamClose(); },
      error: (condition, text) => { if (parser === this.parser) this.onParseError(condition, text); },
    }, { maxStanzaBytes: this.env.limits.maxStanzaBytes, maxDepth: this.env.limits.maxDepth }, this.transport.framed ? 'framed' : 'stream');
    this.parser = parser;
  }

  // ---- parser events ------------------------------------------------------------------------

  private onStreamOpen(attrs: Record<string, string>): void {
    try {
      this.openStream(attrs);
    } catch (err) {
      this.close(err instanceof StreamError ? err : new StreamError('internal-server-error'));
    }
  }

  private openStream(attrs: Record<string, string | undefined>): void {
    const domain = checkStreamHeader(attrs, this.transport.framed, (d) => this.env.isHosted(d));
    if (this.domain && domain !== this.domain) throw new StreamError('host-unknown', 'the domain changed during negotiation');
    this.domain = domain;
    this.transport.write(streamHeader({ id: this.id, from: domain, to: attrs.from, framed: this.transport.framed }));
    this.headerSent = true;
    this.writeElement(this.features());
    if (this.state === 'header') this.state = this.transport.secure ? 'auth' : 'tls';
  }

  private onElement(el: Element): void {
    if (this.transport.framed && el.is('open', NS.FRAMING)) return this.onStreamOpen(el.attrs as Record<string, string>);
    if (this.transport.framed && el.is('close', NS.FRAMING)) return this.onStreamClose();
    if (!this.headerSent) return this.close(new StreamError('not-well-formed', 'an element arrived before the stream header'));
    this.inbox.push(el);
    if (!this.busy) void this.drain();
  }

  private onStreamClose(): void {
    this.cleanClose = true;
    this.closeReason = 'closed by client';
    this.close();
  }

  private onParseError(condition: StreamErrorCondition, text: string): void {
    this.log.info({ condition, text }, 'refusing input');
    this.close(new StreamError(condition, text));
  }

  // ---- serial processing --------------------------------------------------------------------

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (this.inbox.length > 0 && !this.isClosed()) {
        const el = this.inbox.shift()!;
        try {
          // A message may start while earlier ones wait for their audit (see handleBound); anything
          // else, and a message when too many are waiting, first lets them finish.
          if (this.inFlight.length > 0 && (el.name !== 'message' || this.inFlight.length >= MAX_IN_FLIGHT)) {
            this.transport.pause();
            await (el.name !== 'message' ? this.inFlight.at(-1) : this.inFlight[0]);
            if (this.isClosed()) break;
            this.transport.resume();
          }
          const r = this.handle(el);
          if (r instanceof Promise) {
            this.transport.pause();
            await r;
            if (!this.isClosed()) this.transport.resume();
          }
        } catch (err) {
          if (err instanceof StreamError) { this.close(err); break; }
          this.log.error({ err }, 'failed to process an element');
          if (this.state === 'bound') this.replyError(el, new StanzaError('internal-server-error'));
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /** State changes inside awaits; a method call keeps TypeScript from narrowing it away. */
  private isClosed(): boolean { return this.state === 'closed'; }

  private handle(el: Element): void | Promise<void> {
    switch (this.state) {
      case 'tls': return this.handleBeforeTls(el);
      case 'auth': return this.handleAuth(el);
      case 'bind': return this.handleBind(el);
      case 'bound': return this.handleBound(el);
      default: return;
    }
  }

  // ---- STARTTLS (RFC 6120 5) ----------------------------------------------------------------

  private handleBeforeTls(el: Element): void | Promise<void> {
    if (el.is('starttls', NS.TLS)) return this.startTls();
    if (el.is('auth', NS.SASL)) {
      // RFC 6120 6.4.5 encryption-required: no mechanism is usable before TLS here.
      this.writeElement(xml('failure', { xmlns: NS.SASL }, xml('encryption-required'), xml('text', { 'xml:lang': 'en' }, 'Negotiate TLS first')));
      return;
    }
    throw new StreamError('policy-violation', 'TLS is required before anything else');
  }

  private async startTls(): Promise<void> {
    this.transport.write(`<proceed xmlns='${NS.TLS}'/>`);
    this.newParser(); // RFC 6120 5.4.3.3: nothing sent before the handshake counts (no plaintext injection)
    this.inbox.length = 0;
    this.headerSent = false;
    this.state = 'header';
    try {
      await this.transport.startTls();
      this.log.info({ tls: this.transport.tlsProtocol }, 'TLS established');
    } catch (err) {
      this.log.info({ err: (err as Error).message }, 'TLS handshake failed');
      this.transport.destroy();
    }
  }

  // ---- SASL (RFC 6120 6) --------------------------------------------------------------------

  private offeredMechanisms(): Mechanism[] {
    const cb = this.transport.channelBinding() !== null;
    return this.env.mechanismsFor(this.domain).filter((m) => m.available({ secure: this.transport.secure, channelBindingAvailable: cb }));
  }

  private async handleAuth(el: Element): Promise<void> {
    if (el.is('auth', NS.SASL)) {
      const mech = this.offeredMechanisms().find((m) => m.name === el.attrs.mechanism);
      if (!mech) return this.saslFailure(new SaslFailure('invalid-mechanism', `mechanism '${el.attrs.mechanism ?? ''}' is not offered`), false);
      const ex = mech.start({ backend: this.env.saslBackend(this.domain), secure: this.transport.secure, channelBinding: () => this.transport.channelBinding() });
      this.exchange = { mech, ex };
      const text = el.getText();
      return this.saslStep(text === '' ? null : text);
    }
    if (el.is('response', NS.SASL)) {
      if (!this.exchange) return this.saslFailure(new SaslFailure('malformed-request', 'no exchange in progress'), false);
      return this.saslStep(el.getText());
    }
    if (el.is('abort', NS.SASL)) {
      this.exchange = null;
      return this.saslFailure(new SaslFailure('aborted'), false);
    }
    if (el.is('starttls', NS.TLS)) throw new StreamError('policy-violation', 'TLS is already in place');
    throw new StreamError('not-authorized', 'authenticate first');
  }

  private async saslStep(text: string | null): Promise<void> {
    const { ex } = this.exchange!;
    let step;
    try {
      step = await ex.step(text === null ? null : decodeSaslPayload(text));
    } catch (err) {
      this.exchange = null;
      if (err instanceof SaslFailure) return this.saslFailure(err, true, ex.username);
      this.log.error({ err }, 'SASL mechanism failed');
      return this.saslFailure(new SaslFailure('temporary-auth-failure', 'authentication is temporarily unavailable'), false);
    }
    if (step.kind === 'challenge') {
      this.writeElement(xml('challenge', { xmlns: NS.SASL }, step.data.length ? step.data.toString('base64') : '='));
      return;
    }
    return this.saslSucceeded(step.username, step.data);
  }

  private async saslSucceeded(username: string, data: Buffer | undefined): Promise<void> {
    this.exchange = null;
    let jid: Jid;
    try {
      jid = Jid.of(await this.env.canonicalLocal(username, this.domain), this.domain);
    } catch (err) {
      if (!(err instanceof JidError)) {
        this.log.error({ err }, 'account provider failed after authentication');
        return this.saslFailure(new SaslFailure('temporary-auth-failure'), false);
      }
      return this.saslFailure(new SaslFailure('not-authorized'), true, username);
    }
    let refusal: string | null;
    try {
      refusal = await this.env.loginRefusal(jid);
      this.kind = await this.env.sessionKind(jid);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'account provider unavailable after authentication');
      return this.saslFailure(new SaslFailure('temporary-auth-failure', 'the account directory is unavailable'), false);
    }
    if (refusal) {
      this.log.info({ user: jid.bare, refusal }, 'login refused');
      return this.saslFailure(new SaslFailure('account-disabled', refusal), true, jid.bare);
    }
    this.env.throttle.recordSuccess(this.transport.remoteAddress, jid.bare);
    this.username = jid.local;
    this.writeElement(xml('success', { xmlns: NS.SASL }, data && data.length ? data.toString('base64') : undefined));
    this.log.info({ user: jid.bare }, 'authenticated');
    // RFC 6120 6.4.6: the stream restarts; whatever followed <success/> in the old stream is void.
    this.newParser();
    this.inbox.length = 0;
    this.headerSent = false;
    this.state = 'bind';
  }

  private async saslFailure(failure: SaslFailure, counts: boolean, account: string | null = null): Promise<void> {
    const user = account && !account.includes('@') ? `${account}@${this.domain}` : account;
    if (counts) {
      const delay = this.env.throttle.delayFor(this.transport.remoteAddress, user);
      this.env.throttle.recordFailure(this.transport.remoteAddress, user);
      this.authAttempts++;
      this.log.info({ user, condition: failure.condition, delayMs: delay }, 'authentication failed');
      if (delay > 0) await new Promise((r) => setTimeout(r, delay).unref());
    }
    if (this.state === 'closed') return;
    const el = xml('failure', { xmlns: NS.SASL }, xml(failure.condition));
    if (failure.message && failure.message !== failure.condition) el.append(xml('text', { 'xml:lang': 'en' }, failure.message));
    this.writeElement(el);
    if (this.authAttempts >= MAX_AUTH_ATTEMPTS) this.close(new StreamError('policy-violation', 'too many failed authentication attempts'));
  }

  // ---- resource binding (RFC 6120 7) --------------------------------------------------------

  private handleBind(el: Element): void {
    if (el.name === 'iq' && el.attrs.type === 'set' && el.getChild('bind', NS.BIND)) return this.bindResource(el);
    if (el.is('resume', NS_SM) && this.env.sm.enabled) return this.resumeSession(el);
    if (el.is('enable', NS_SM)) {
      // XEP-0198 3: enable comes after resource binding.
      this.writeElement(smFailure('unexpected-request'));
      return;
    }
    throw new StreamError('not-authorized', 'bind a resource first');
  }

  // ---- XEP-0198 Stream Management -----------------------------------------------------------

  private enableStreamManagement(session: ClientSession, el: Element): void {
    if (!this.env.sm.enabled || session.sm) {
      this.writeElement(smFailure('unexpected-request'));
      return;
    }
    const resumable = el.attrs.resume === 'true' || el.attrs.resume === '1';
    const sm = new StreamManagementState(resumable);
    session.sm = sm;
    if (resumable) this.env.smSessions.set(sm.id, session);
    const max = Math.round(this.env.sm.resumeTimeoutMs / 1000);
    this.writeElement(resumable ? xml('enabled', { xmlns: NS_SM, id: sm.id, resume: 'true', max: String(max) }) : xml('enabled', { xmlns: NS_SM }));
    this.log.info({ resumable }, 'stream management enabled');
  }

  private handleStreamManagement(session: ClientSession, el: Element): void {
    const name = el.getName();
    if (name === 'enable') return this.enableStreamManagement(session, el);
    const sm = session.sm;
    if (!sm) {
      this.writeElement(smFailure('unexpected-request'));
      return;
    }
    if (name === 'r') {
      this.writeElement(xml('a', { xmlns: NS_SM, h: String(sm.inbound) }));
      return;
    }
    if (name === 'a') {
      try {
        sm.acknowledge(Number.parseInt(el.attrs.h ?? '', 10) >>> 0);
      } catch (err) {
        if (err instanceof AckOutOfRange) {
          this.writeElement(smFailure('undefined-condition', sm.inbound));
          throw new StreamError('undefined-condition', err.message);
        }
        throw err;
      }
      return;
    }
    throw new StreamError('unsupported-stanza-type', `<${el.name}/> is not part of stream management`);
  }

  /** XEP-0198 5: take over a session whose connection dropped, and send what it missed. */
  private resumeSession(el: Element): void {
    const session = this.env.smSessions.get(el.attrs.previd ?? '');
    if (!session || !session.open || !session.sm || session.jid.local !== this.username || session.jid.domain !== this.domain) {
      this.writeElement(smFailure('item-not-found'));
      return;
    }
    const sm = session.sm;
    try {
      sm.acknowledge(Number.parseInt(el.attrs.h ?? '', 10) >>> 0);
    } catch {
      this.writeElement(smFailure('undefined-condition', sm.inbound));
      return;
    }
    this.env.wake(session);
    const previous = session.currentStream;
    session.attach(this);
    previous?.handOver();
    this.session = session;
    this.state = 'bound';
    if (this.authTimer) { clearTimeout(this.authTimer); this.authTimer = null; }
    this.writeElement(xml('resumed', { xmlns: NS_SM, previd: sm.id, h: String(sm.inbound) }));
    const missed = sm.takeUnacked();
    this.log.info({ jid: session.jid.full, resent: missed.length }, 'session resumed');
    for (const stanza of missed) this.writeElement(stanza);
  }

  /** Another connection resumed this session: go away without touching it. */
  handOver(): void {
    if (this.state === 'closed') return;
    this.handedOver = true;
    this.closeReason = 'session resumed on another connection';
    this.finish();
    this.transport.destroy();
  }

  /** Ask the client for an acknowledgement soon after stanzas were sent (XEP-0198 4). */
  private scheduleAckRequest(sm: StreamManagementState): void {
    if (sm.requested || this.ackRequestTimer) return;
    this.ackRequestTimer = setTimeout(() => {
      this.ackRequestTimer = null;
      if (this.state !== 'bound' || sm.unacked.length === 0 || sm.requested) return;
      sm.requested = true;
      this.writeElement(xml('r', { xmlns: NS_SM }));
    }, 250);
    this.ackRequestTimer.unref();
  }

  private bindResource(iq: Element): void {
    const requested = iq.getChild('bind', NS.BIND)!.getChildText('resource')?.trim();
    let jid: Jid;
    try {
      jid = Jid.of(this.username!, this.domain, requested || `parley-${crypto.randomBytes(6).toString('hex')}`);
    } catch (err) {
      // RFC 6120 7.7.2.1: a resource that cannot be prepared is a bad request.
      this.replyError(iq, new StanzaError('bad-request', err instanceof JidError ? err.message : 'invalid resource'));
      return;
    }
    const existing = this.env.sessions.ofAccount(jid.bare);
    const replacing = this.env.sessions.byFullJid(jid.full);
    if (!replacing && existing.length >= this.env.limits.maxSessionsPerUser) {
      this.replyError(iq, new StanzaError('resource-constraint', `at most ${this.env.limits.maxSessionsPerUser} sessions per account`));
      return;
    }
    const session = new ClientSession(this.id, jid, this.kind, this, this.env.hooks, this.log);
    const replaced = this.env.sessions.bind(session);
    if (replaced) {
      // RFC 6120 7.7.2.2: the new session wins; the old one ends with <conflict/>.
      this.log.info({ jid: jid.full, replaced: replaced.id }, 'resource conflict: replacing the old session');
      replaced.close(new StreamError('conflict', 'replaced by a new session for the same resource'));
    }
    this.session = session;
    this.state = 'bound';
    if (this.authTimer) { clearTimeout(this.authTimer); this.authTimer = null; }
    this.writeElement(xml('iq', { type: 'result', id: iq.attrs.id }, xml('bind', { xmlns: NS.BIND }, xml('jid', {}, jid.full))));
    this.log.info({ jid: jid.full }, 'resource bound');
    void this.env.events.emit('session/bound', { session });
  }

  // ---- bound: stanzas and nonzas ------------------------------------------------------------

  private handleBound(el: Element): void | Promise<void> {
    const session = this.session!;
    if (el.name === 'message' || el.name === 'presence' || el.name === 'iq') {
      if (el.attrs.xmlns !== undefined && el.attrs.xmlns !== NS.CLIENT) throw new StreamError('invalid-namespace', `stanzas must be in '${NS.CLIENT}'`);
      if (el.name === 'iq' && el.attrs.type === 'set') {
        // RFC 3921 session establishment: a no-op that old clients still send.
        if (el.getChild('session', NS.SESSION)) { this.writeElement(xml('iq', { type: 'result', id: el.attrs.id })); return; }
        if (el.getChild('bind', NS.BIND)) { this.replyError(el, new StanzaError('not-allowed', 'a resource is already bound')); return; }
      }
      const sm = session.sm;
      if (el.name === 'message') {
        // Pipelining: a message whose policy and audit ran at once (its record is being written)
        // lets the next one start; each is routed, and counted as handled (XEP-0198), only after
        // the one before it, so order holds and nothing unrecorded is acknowledged.
        const order: Ordering = { after: this.inFlight.at(-1), accepted: false };
        const done = this.env.router.fromClient(session, el, order);
        if (done instanceof Promise && order.accepted) {
          const tracked: Promise<void> = done.then(() => { sm?.recordHandled(); }, (err: unknown) => { this.log.error({ err }, 'failed to route a message'); })
            .finally(() => { this.inFlight.splice(this.inFlight.indexOf(tracked), 1); });
          this.inFlight.push(tracked);
          return;
        }
        if (!sm) return done;
        if (done instanceof Promise) return done.then(() => sm.recordHandled());
        sm.recordHandled();
        return;
      }
      const done = el.name === 'presence' && !el.attrs.to && (el.attrs.type === undefined || el.attrs.type === 'unavailable')
        ? this.broadcastPresence(session, el)
        : this.env.router.fromClient(session, el);
      if (!sm) return done;
      // XEP-0198: h counts stanzas the server has handled (routed, stored or answered).
      if (done instanceof Promise) return done.then(() => sm.recordHandled());
      sm.recordHandled();
      return;
    }
    if (el.getNS() === NS_SM) return this.handleStreamManagement(session, el);
    const nonza = this.env.extensions.nonza(el.getNS() ?? '', el.getName());
    if (nonza) return nonza.fn(session, el);
    throw new StreamError('unsupported-stanza-type', `<${el.name}/> is not understood here`);
  }

  /** Own broadcast presence: bookkeeping for delivery rules, the presence hooks, then 'session/available'. */
  private async broadcastPresence(session: ClientSession, el: Element): Promise<void> {
    const wasAvailable = session.available;
    session.updatePresence(el);
    const initial = session.available && !wasAvailable;
    // Stored stanzas (offline messages, pending requests) reach the session before anything that
    // its presence broadcast may cause contacts to send, so the order of messages is kept.
    if (initial) await this.env.events.emit('session/available', { session, initial: true });
    await this.env.router.fromClient(session, el);
    if (!initial && session.available && session.open) await this.env.events.emit('session/available', { session, initial: false });
  }

  private replyError(el: Element, error: StanzaError): void {
    const reply = bounceReply(el, error);
    if (!reply) return;
    delete reply.attrs.from;
    if (this.session) reply.attrs.to = this.session.jid.full; else delete reply.attrs.to;
    this.writeElement(reply);
  }

  // ---- output -------------------------------------------------------------------------------

  private features(): Element {
    const features = xml('stream:features');
    if (this.state === 'header' && !this.transport.secure) {
      // STARTTLS is required: it is the only feature offered on a plaintext stream.
      features.append(xml('starttls', { xmlns: NS.TLS }, xml('required')));
    } else if (this.state === 'header' || this.state === 'auth') {
      const mechs = this.offeredMechanisms();
      features.append(xml('mechanisms', { xmlns: NS.SASL }, ...mechs.map((m) => xml('mechanism', {}, m.name))));
      if (this.transport.channelBinding() !== null) {
        // XEP-0440: which channel-binding types the server supports.
        features.append(xml('sasl-channel-binding', { xmlns: 'urn:xmpp:sasl-cb:0' }, xml('channel-binding', { type: 'tls-exporter' })));
      }
    } else if (this.state === 'bind') {
      features.append(xml('bind', { xmlns: NS.BIND }));
      features.append(xml('session', { xmlns: NS.SESSION }, xml('optional')));
      if (this.env.sm.enabled) features.append(xml('sm', { xmlns: NS_SM }));
      for (const f of this.env.extensions.features()) features.append(f);
    }
    return features;
  }

  writeElement(el: Element): void {
    if (this.state === 'closed') return;
    if (this.transport.framed) {
      // RFC 7395 3.3.3: every frame is a whole document, so namespaces are declared on each element.
      if (el.name.startsWith('stream:')) el.attrs['xmlns:stream'] = NS.STREAM;
      else if (el.attrs.xmlns === undefined) el.attrs.xmlns = NS.CLIENT;
    }
    this.transport.write(el.toString());
    const sm = this.session?.sm;
    if (sm && this.state === 'bound' && isStanza(el)) {
      sm.recordSent(el);
      if (sm.unacked.length > this.env.sm.maxUnacked) {
        this.close(new StreamError('resource-constraint', 'too many unacknowledged stanzas'));
        return;
      }
      this.scheduleAckRequest(sm);
    }
  }

  // ---- closing ------------------------------------------------------------------------------

  /** End the stream: with a stream error if given (RFC 6120 4.9), then the closing tag. */
  close(error?: StreamError): void {
    if (this.state === 'closed') return;
    if (error) {
      this.closedByServer = true;
      if (!this.headerSent) this.transport.write(emergencyHeader(this.id, this.transport.framed));
      this.headerSent = true;
      this.writeElement(error.toElement());
      this.closeReason = `stream error: ${error.condition}`;
      this.log.info({ condition: error.condition, text: error.text }, 'stream error sent');
    }
    if (this.headerSent) this.transport.write(streamClose(this.transport.framed));
    this.finish();
    this.transport.end();
  }

  private transportClosed(reason: string): void {
    if (this.state === 'closed') return;
    if (!this.cleanClose) this.closeReason = reason;
    this.finish();
  }

  private finish(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.inbox.length = 0;
    if (this.authTimer) clearTimeout(this.authTimer);
    if (this.ackRequestTimer) clearTimeout(this.ackRequestTimer);
    const session = this.session;
    if (session && !this.handedOver && session.isAttachedTo(this)) {
      if (session.sm?.resumable && !this.cleanClose && !this.closedByServer && session.open) {
        // XEP-0198 5: the connection dropped; the session waits for the client to resume it.
        session.detach();
        this.env.hibernate(session);
        this.log.info({ jid: session.jid.full, unacked: session.sm.unacked.length }, 'connection lost; session kept for resumption');
      } else {
        this.env.endSession(session, this.cleanClose, this.closeReason);
      }
    }
    this.log.info({ reason: this.closeReason }, 'connection closed');
    this.env.forget(this);
  }
}

/** XEP-0198 <failed/> with a stanza error condition (and our h, when the client needs it). */
function smFailure(condition: string, h?: number): Element {
  return xml('failed', { xmlns: NS_SM, h: h === undefined ? undefined : String(h) }, xml(condition, { xmlns: NS.STANZAS }));
}

/** RFC 6120 6.4.2: '=' is an empty response; anything else must be valid base64. */
function decodeSaslPayload(text: string): Buffer {
  const t = text.trim();
  if (t === '=') return Buffer.alloc(0);
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) throw new SaslFailure('incorrect-encoding', 'the SASL payload is not valid base64');
  return Buffer.from(t, 'base64');
}
