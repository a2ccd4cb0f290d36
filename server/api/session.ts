import type { Element } from '@xmpp/xml';
import type { Jid } from '../xml/jid.js';
import type { StreamError } from './errors.js';

/** Who is behind a session: an employee, an extranet partner, a service account, or a federated peer. */
export type SessionKind = 'employee' | 'partner' | 'service' | 'peer';
export type TransportKind = 'tcp' | 'tls' | 'websocket';

/** A bound client session as modules see it. Read-only apart from send/close. */
export interface Session {
  /** Short unique id, also in every log line about this session. */
  readonly id: string;
  /** The bound full JID. */
  readonly jid: Jid;
  readonly kind: SessionKind;
  readonly transport: TransportKind;
  readonly remoteAddress: string;
  /** When the resource was bound (ms since epoch). */
  readonly boundAt: number;
  /** True once the client has sent initial presence and until it sends unavailable (RFC 6121 4.2). */
  readonly available: boolean;
  /** Presence priority (RFC 6121 4.7.2.3), 0 until the client says otherwise. */
  readonly priority: number;
  /** The last broadcast presence the client sent (without to), or null. */
  readonly presence: Element | null;
  /** False once the session is closing or closed: nothing more will be written. */
  readonly open: boolean;
  /**
   * Write a stanza to this client after the `stanza/out` hooks. Returns false when the session is
   * closed (the caller decides what to do with the stanza: offline, another resource, bounce).
   */
  deliver(stanza: Element): boolean;
  /** End the session, with a stream error if given. */
  close(error?: StreamError): void;
}
