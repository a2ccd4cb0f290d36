import type { Element } from '@xmpp/xml';
import type { Logger } from 'pino';
import type { Session, SessionKind, TransportKind } from '../api/session.js';
import type { StreamError } from '../api/errors.js';
import type { HookRegistry } from '../host/hooks.js';
import type { Jid } from '../xml/jid.js';

/** What a session needs from the stream that carries it. */
export interface SessionStream {
  writeElement(el: Element): void;
  close(error?: StreamError): void;
  readonly transportKind: TransportKind;
  readonly remoteAddress: string;
}

/** A bound client session: its JID, its presence state, and delivery through `stanza/out`. */
export class ClientSession implements Session {
  available = false;
  priority = 0;
  presence: Element | null = null;
  open = true;
  readonly boundAt = Date.now();

  constructor(
    readonly id: string,
    readonly jid: Jid,
    readonly kind: SessionKind,
    private readonly stream: SessionStream,
    private readonly hooks: HookRegistry,
    readonly log: Logger,
  ) {}

  get transport(): TransportKind { return this.stream.transportKind; }
  get remoteAddress(): string { return this.stream.remoteAddress; }

  deliver(stanza: Element): boolean {
    if (!this.open) return false;
    if (!this.hooks.has('stanza/out')) {
      this.stream.writeElement(stanza);
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
    this.stream.writeElement(stanza);
    return true;
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

  close(error?: StreamError): void {
    this.stream.close(error);
  }
}
