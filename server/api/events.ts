import type { Element } from '@xmpp/xml';
import type { Jid } from '../xml/jid.js';
import type { Session } from './session.js';
import type { Verdict, HookResult } from './verdicts.js';

export type StanzaKind = 'message' | 'presence' | 'iq';

/**
 * One stanza on its way through the pipeline. Built once by the inbound stage (or by
 * `ctx.router.send` for server-made stanzas) and handed to every hook.
 */
export interface StanzaEvent {
  /** Server-assigned unique id of this stanza (not the client's id attribute). */
  readonly id: string;
  readonly kind: StanzaKind;
  /** The stanza's type attribute with RFC defaults applied ('normal' for message, 'available' for presence). */
  readonly type: string;
  /** The stanza as it stands now; a `rewrite` verdict replaces it. */
  stanza: Element;
  /** The stanza as it arrived, before any rewrite. */
  readonly original: Element;
  /** The client session it came from, or null when the server or a module made it. */
  readonly origin: Session | null;
  /** Stamped by the server (RFC 6120 8.1.2.1): a client cannot choose it. */
  readonly from: Jid;
  /** The addressee; a stanza without 'to' from a client is addressed to the sender's bare JID (RFC 6120 10.3). */
  readonly to: Jid;
  /** True when 'to' was absent in the stanza as sent. */
  readonly toImplicit: boolean;
}

/**
 * What the audit stage is told about a stanza: the event and how policy decided. A listener may add
 * identifiers to `event.stanza` (the archive stamps the XEP-0359 stanza-id); `event.original`
 * is the stanza as sent, for the record.
 */
export interface AuditEvent {
  readonly event: StanzaEvent;
  /** 'allowed', or the verdict that stopped or changed it. */
  readonly outcome: 'allowed' | Verdict;
}

/** A stanza about to be written to one recipient session. */
export interface OutgoingEvent {
  readonly session: Session;
  stanza: Element;
}

/** An IQ handed to an IQ handler. */
export interface IqEvent extends StanzaEvent {
  readonly kind: 'iq';
  /** The IQ's single payload child. */
  readonly payload: Element;
}

/**
 * Pipeline hooks: the handlers return a verdict or nothing. Modules add their own with
 * `declare module '../../server/api/index.js' { interface ParleyHooks { ... } }`.
 */
export interface ParleyHooks {
  /** Every stanza a client or module sends, before routing. GUARD and POLICY stages. */
  'stanza/in': StanzaEvent;
  /** A message to the server's domain. */
  'message/server': StanzaEvent;
  /** A message to a local account's bare JID (RFC 6121 8.5.2). */
  'message/bare': StanzaEvent;
  /** A message to a local full JID (RFC 6121 8.5.3). */
  'message/full': StanzaEvent;
  /** A presence without 'to' from a client: its broadcast presence (RFC 6121 4.2, 4.4). */
  'presence/broadcast': StanzaEvent;
  /** A presence to the server's domain. */
  'presence/server': StanzaEvent;
  /** A presence to a local bare JID: subscriptions, probes, directed presence (RFC 6121 3, 4.3, 4.6). */
  'presence/bare': StanzaEvent;
  /** A presence to a local full JID. */
  'presence/full': StanzaEvent;
  /** An IQ to a local full JID, before it is delivered to that resource. */
  'iq/full': StanzaEvent;
  /** A stanza for a remote domain; only a federation module answers it. */
  'route/remote': StanzaEvent;
  /** A stanza about to be written to one session: CSI hold-back, partner views. */
  'stanza/out': OutgoingEvent;
}

/** Notifications after the fact: returns are ignored, failures are logged (unless failClosed). */
export interface ParleyEvents {
  /** Once per stanza, after policy and before routing: the archive listens here. */
  'stanza/audit': AuditEvent;
  /** A stanza that could not be delivered and was bounced with an error. */
  'stanza/bounced': { event: StanzaEvent; condition: string };
  /** A client bound a resource. */
  'session/bound': { session: Session };
  /**
   * A session sent available broadcast presence; `initial` is true when it was unavailable before
   * (RFC 6121 4.2: initial presence), which is when offline messages and pending requests are due.
   */
  'session/available': { session: Session; initial: boolean };
  /** A session ended for any reason; `clean` is true when the client closed the stream itself. */
  'session/closed': { session: Session; clean: boolean; reason: string };
  /** An account was created, had its password changed, or was deleted/disabled. */
  'account/created': { jid: string };
  'account/deleted': { jid: string };
  'account/disabled': { jid: string; reason: string };
  /** The server is shutting down; listeners may flush. */
  'server/stopping': Record<string, never>;
}

export type HookName = keyof ParleyHooks;
export type EventName = keyof ParleyEvents;
export type HookFn<N extends HookName> = (event: ParleyHooks[N]) => HookResult;
export type EventFn<N extends EventName> = (payload: ParleyEvents[N]) => void | Promise<void>;
