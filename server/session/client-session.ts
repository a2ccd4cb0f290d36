import type { Element } from '@xmpp/xml';
import type { Logger } from 'pino';
import type { Session, SessionKind, TransportKind } from '../api/session.js';
import type { StreamError } from '../api/errors.js';
import type { HookRegistry } from '../host/hooks.js';
import type { StreamManagementState } from '../stream/sm.js';
import type { Jid } from '../xml/jid.js';

/** What a session needs from the stream that carries it. */
export interface SessionStream {
  writeElement(el: Element): void;
  close(error?: StreamError): void;
  /** Another connection took the session over (XEP-0198 resumption): go away quietly. */
  handOver(): void;
  readonly transportKind: TransportKind;
  readonly remoteAddress: string;
}

/**
 * A bound client session: its JID, its presence state, and delivery through `stanza/out`.
 * With XEP-0198 resumption a session outlives its connection: while it waits for the client to
 * resume ("hibernating") it has no stream, and what is delivered to it waits in the SM queue.
 */
export class ClientSession implements Session {
  available = false;
  priority = 0;
  presence: Element | null = null;
  open = true;
  readonly boundAt = Date.now();
  sm: StreamManagementState | null = null;
  private stream: SessionStream | null;
  private lastTransport: TransportKind;
  private lastAddress: string;

  constructor(
    readonly id: string,
    readonly jid: Jid,
    readonly kind: SessionKind,
    stream: SessionStream,
    private readonly hooks: HookRegistry,
    readonly log: Logger,
  ) {
    this.stream = stream;
    this.lastTransport = stream.transportKind;
    this.lastAddress = stream.remoteAddress;
  }

  get transport(): TransportKind { return this.stream?.transportKind ?? this.lastTransport; }
  get remoteAddress(): string { return this.stream?.remoteAddress ?? this.lastAddress; }
  /** The connection is gone and the session waits for a resumption. */
  get hibernating(): boolean { return this.stream === null && this.open; }

  isAttachedTo(stream: SessionStream): boolean { return this.stream === stream; }
  get currentStream(): SessionStream | null { return this.stream; }

  /** A resumption moved the session onto a new connection. */
  attach(stream: SessionStream): void {
    this.stream = stream;
    this.lastTransport = stream.transportKind;
    this.lastAddress = stream.remoteAddress;
  }

  /** The connection dropped; keep the session for a resumption. */
  detach(): void { this.stream = null; }

  deliver(stanza: Element): boolean {
    if (!this.open) return false;
    if (!this.hooks.has('stanza/out')) {
      this.write(stanza);
      return true;
    }
    const event = { session: this as Session, stanza };
    const v = this.hooks.run('stanza/out', event, { session: this.id });
    if (v instanceof Promise) {
      // stanza/out hooks should be synchronous; an async one still gets its answer honoured.
      v.then((r) => this.afterOutHooks(event.stanza, r?.kind)).catch((err) => this.log.error({ err }, 'stanza/out failed'));
      return true;
    }
    return this.afterOutHooks(event.stanza, v?.kind);
  }

  private afterOutHooks(stanza: Element, verdict: string | undefined): boolean {
    if (verdict === 'drop' || verdict === 'block') return true; // a hook consumed it (e.g. CSI queue) or refused it on purpose
    if (verdict === 'handled') return true;
    if (!this.open) return false;
    this.write(stanza);
    return true;
  }

  /** Write now, or keep it in the XEP-0198 queue while hibernating (sent again on resumption). */
  private write(stanza: Element): void {
    if (this.stream) this.stream.writeElement(stanza);
    else this.sm?.recordSent(stanza);
  }

  /** Presence bookkeeping for the router (RFC 6121 4.2, 4.7.2.3). */
  updatePresence(stanza: Element): void {
    if (stanza.attrs.type === 'unavailable') {
      this.available = false;
    } else {
      this.available = true;
      const p = Number.parseInt(stanza.getChildText('priority') ?? '0', 10);
      this.priority = Number.isFinite(p) ? Math.max(-128, Math.min(127, p)) : 0;
    }
    this.presence = stanza;
  }

  /** End the session (with a stream error if given). A hibernating session ends at once. */
  close(error?: StreamError): void {
    if (this.stream) this.stream.close(error);
    else if (this.open) this.onCloseWhileHibernating?.(this);
  }

  /** Set by the server: how to end a session that has no connection. */
  onCloseWhileHibernating: ((s: ClientSession) => void) | null = null;
}
