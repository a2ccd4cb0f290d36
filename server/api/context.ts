import type { Element } from '@xmpp/xml';
import type Database from 'better-sqlite3';
import type { z } from 'zod';
import type { Logger } from 'pino';
import type { Jid } from '../xml/jid.js';
import type { Stage } from './stage.js';
import type { Session, SessionKind } from './session.js';
import type { StanzaError } from './errors.js';
import type { Verdict } from './verdicts.js';
import type { EventFn, EventName, HookFn, HookName, IqEvent, ParleyEvents, StanzaEvent } from './events.js';

/** Which addressee an IQ handler answers for. */
export type IqAddressee =
  /** the server's own domain (or no 'to' for stream-level IQs) */
  | 'server'
  /** any local account's bare JID, on that account's behalf */
  | 'account'
  /** the sender's own account (to is absent or the sender's bare JID); falls back to 'account' handlers */
  | 'self';

export interface IqHandlerKey {
  type: 'get' | 'set';
  xmlns: string;
  /** Local name of the payload element. */
  name: string;
  to: IqAddressee | IqAddressee[];
}

/**
 * An IQ handler returns the payload of the result (or nothing for an empty result), throws a
 * StanzaError to refuse, or returns `handled()` when it has replied by itself.
 */
export type IqHandler = (iq: IqEvent) => Element | undefined | void | Verdict | Promise<Element | undefined | void | Verdict>;

export interface DiscoIdentity { category: string; type: string; name?: string }
export interface DiscoItem { jid: string; name?: string; node?: string }
/** Where a disco feature or identity is shown: on the server's domain, or on every account's bare JID. */
export type DiscoTarget = 'server' | 'account';

export interface DiscoRegistry {
  addFeature(feature: string, target?: DiscoTarget): void;
  addIdentity(identity: DiscoIdentity, target?: DiscoTarget): void;
  addItem(item: DiscoItem): void;
  /** Extended information (XEP-0128) as data forms, e.g. XEP-0157 contact addresses. */
  addExtension(form: Element, target?: DiscoTarget): void;
  features(target: DiscoTarget): readonly string[];
  identities(target: DiscoTarget): readonly DiscoIdentity[];
  items(): readonly DiscoItem[];
  extensions(target: DiscoTarget): readonly Element[];
}

export interface RouterApi {
  /** Send a stanza made by a module through the whole pipeline (policy and audit included). 'from' must be set. */
  send(stanza: Element): Promise<void>;
  /** Write a server-made copy straight to one session (after its `stanza/out` hooks); not audited again. */
  deliver(session: Session, stanza: Element): boolean;
  /** Deliver to the sessions of a bare JID per RFC 6121 8.5.2 (used by features that re-route). Returns how many got it. */
  deliverToBareJid(stanza: Element, bare: Jid): number;
  /** Answer a stanza with an error (never answers an error). */
  bounce(stanza: Element, error: StanzaError): void;
  /**
   * Answer a stanza a hook took (e.g. an IQ result made with resultReply): straight to the
   * session it came from, or through the whole pipeline when it came from elsewhere.
   */
  reply(event: StanzaEvent, reply: Element): void;
  /** Send an IQ get/set from the server and wait for its result or error. Rejects on timeout. */
  request(iq: Element, timeoutMs?: number): Promise<Element>;
}

export interface SessionDirectory {
  byFullJid(jid: Jid | string): Session | undefined;
  /** All bound sessions of an account. */
  ofAccount(bare: Jid | string): readonly Session[];
  /** Bound sessions that have sent initial presence. */
  availableOf(bare: Jid | string): Session[];
  /** Number of bound sessions. */
  readonly count: number;
  all(): IterableIterator<Session>;
}

/** The answer of a provider to a password check: it knows the user and the password is right or wrong, or it does not know the user. */
export type PasswordCheck = 'ok' | 'wrong' | 'unknown';

/** SCRAM credentials (RFC 5802 section 3): what a provider stores instead of a password. */
export interface ScramCredentialSet {
  hash: 'SHA-1' | 'SHA-256';
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/**
 * A source of accounts: the local SCRAM store, the directory, a bot (see `ctx.auth.addProvider`).
 * Providers added by modules are asked before the local accounts, in load order.
 * To say "the backend is unreachable right now", throw `AuthUnavailableError`: the client gets
 * `<temporary-auth-failure/>` and may retry.
 */
export interface AccountProvider {
  readonly name: string;
  /** The hosted domains this provider serves; all of them when absent. */
  readonly domains?: readonly string[];
  /** Does this provider know the account? Must be fast: the router asks for every stanza to a bare JID that has no session. */
  exists(local: string, domain: string): boolean | Promise<boolean>;
  /**
   * SASL PLAIN: check a password for a login name. A provider without it cannot authenticate anyone.
   * A provider that has no `scramCredentials` makes its domains offer PLAIN only (over TLS): it needs the password itself (an LDAP bind).
   */
  verifyPassword?(login: string, domain: string, password: string): Promise<PasswordCheck>;
  /** SCRAM: stored credentials for a login name, or null when this provider does not know it. */
  scramCredentials?(login: string, domain: string, hash: 'SHA-1' | 'SHA-256'): Promise<ScramCredentialSet | null>;
  /** The JID localpart for a login name that authenticated (e.g. the directory's uid for a mail address); null = unchanged. */
  canonicalLocal?(login: string, domain: string): Promise<string | null>;
  /** Why this account may not log in now (disabled, expired), or null. */
  loginRefusal?(local: string, domain: string): Promise<string | null>;
  /** The kind of sessions this account gets, if this provider knows the account. */
  sessionKind?(local: string, domain: string): SessionKind | undefined | Promise<SessionKind | undefined>;
}

export interface AccountsApi {
  /** Whether `bare` is a local account (any provider). */
  exists(bare: Jid): Promise<boolean>;
  /** Whether `jid` is on one of this server's domains. */
  isLocalDomain(domain: string): boolean;
  /** Hosted domains, the first is the default. */
  readonly domains: readonly string[];
  /** Whether the bare JID has the admin role from config. */
  isAdmin(bare: Jid | string): boolean;
  /** The kind of sessions a local account gets (employee, partner, service); 'employee' unless a provider says otherwise. */
  kindOf(bare: Jid): Promise<SessionKind>;
  /**
   * Check a password for a local account with the same providers as a client login (the local
   * store, the directory). For tools that act on behalf of a person (the compliance CLI).
   */
  verifyPassword(bare: Jid, password: string): Promise<PasswordCheck>;
}

export interface StorageApi {
  /** The server database with this module's migrations from schema/<module>/ applied. */
  readonly db: Database.Database;
  /** A simple per-account key/value store kept in one shared table, namespaced by module and store name. */
  keyValue<T>(store: string): KeyValueStore<T>;
  /**
   * A database of the module's own in a separate SQLite file (WAL, synchronous FULL), for data
   * that must live apart from the server database (its own volume, size limit or lifetime).
   * `file` is absolute or relative to the data folder; the migrations in
   * `schema/<module>/<schema>/` are applied to it. The host closes it when the module unloads.
   */
  open(file: string, schema: string): Database.Database;
  /** The server's data folder (absolute). */
  readonly dataDir: string;
}

export interface KeyValueStore<T> {
  get(owner: string, key: string): T | undefined;
  set(owner: string, key: string, value: T): void;
  delete(owner: string, key: string): void;
  /** All keys of one owner. */
  keys(owner: string): string[];
  /** Remove everything an owner has in this store (account deletion). */
  clear(owner: string): void;
}

/**
 * Typed services between modules. A module that provides one declares it by interface merging:
 * `declare module '../../server/api/index.js' { interface ParleyServices { directory: DirectoryService } }`.
 */
export interface ParleyServices {
  /** Provided by the core: manage local accounts (XEP-0133 service administration uses it). */
  accountAdmin: AccountAdminService;
}

/**
 * Local account management while the server runs. Errors are StanzaErrors ready to send
 * (`conflict` for an existing account, `item-not-found` for a missing one).
 */
export interface AccountAdminService {
  /** Create a local account with SCRAM credentials only. */
  create(jid: Jid, password: string): Promise<void>;
  /** Delete a local account: its sessions end with <not-authorized/>, modules hear 'account/deleted'. */
  delete(jid: Jid): Promise<void>;
  setPassword(jid: Jid, password: string): Promise<void>;
  /** Refuse future logins and end current sessions; modules hear 'account/disabled'. */
  disable(jid: Jid, reason: string): Promise<void>;
  enable(jid: Jid): Promise<void>;
  /** Whether the account is a local one (not from the directory). */
  isLocal(jid: Jid): boolean;
  /** End every session of an account, or one resource's, with the given stream error text. */
  endSessions(jid: Jid, reason: string): number;
}

export interface TimersApi {
  every(ms: number, fn: () => void | Promise<void>): { cancel(): void };
  after(ms: number, fn: () => void | Promise<void>): { cancel(): void };
}

export interface HttpRequestHandler {
  (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void | Promise<void>;
}

/** What a module gets from the host. Everything registered through it is undone on unload. */
export interface ModuleContext<Config = unknown> {
  readonly name: string;
  readonly config: Config;
  readonly log: Logger;
  readonly accounts: AccountsApi;
  readonly hooks: {
    on<N extends HookName>(name: N, fn: HookFn<N>, opts?: { stage?: Stage }): void;
  };
  readonly events: {
    on<N extends EventName>(name: N, fn: EventFn<N>, opts?: { failClosed?: boolean }): void;
    emit<N extends EventName>(name: N, payload: ParleyEvents[N]): Promise<void>;
  };
  readonly iq: {
    handle(key: IqHandlerKey, fn: IqHandler): void;
  };
  readonly disco: DiscoRegistry;
  readonly router: RouterApi;
  readonly sessions: SessionDirectory;
  readonly storage: StorageApi;
  readonly services: {
    provide<K extends keyof ParleyServices>(name: K, impl: ParleyServices[K]): void;
    use<K extends keyof ParleyServices>(name: K): ParleyServices[K];
    /** The service if some loaded module provides it, else undefined (for optional integrations). */
    find<K extends keyof ParleyServices>(name: K): ParleyServices[K] | undefined;
  };
  readonly auth: {
    /** Add an account provider (e.g. the directory) beside the local accounts. */
    addProvider(provider: AccountProvider): void;
  };
  readonly stream: {
    /** A feature offered in the stream features after authentication (beside bind). */
    addFeature(el: Element): void;
    /** Handle a top-level non-stanza element (a "nonza", e.g. XEP-0352 <active/>) on bound streams. */
    handle(xmlns: string, name: string, fn: (session: Session, el: Element) => void | Promise<void>): void;
  };
  readonly timers: TimersApi;
  readonly http: {
    route(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, handler: HttpRequestHandler): void;
  };
  /**
   * Release something the host does not know about (a worker thread, a file handle) when the
   * module unloads, after everything it registered is undone. Runs in reverse order of calls.
   */
  onUnload(fn: () => void): void;
  /** Software name and version, for XEP-0092 and logs. */
  readonly server: { readonly name: string; readonly version: string; readonly startedAt: number };
}

export interface XepSupport {
  xep: number;
  version?: string;
  status: 'complete' | 'partial';
  note?: string;
}

export interface ModuleDefinition<S extends z.ZodType = z.ZodType> {
  /** Folder name under modules/ and key under `modules:` in parley.yml. */
  name: string;
  /** One line: what it does and for whom. */
  description?: string;
  /** The module's config schema (zod); its section in parley.yml is validated against it at start. */
  config?: S;
  /** Services this module needs; modules that provide them load first. */
  requires?: (keyof ParleyServices)[];
  /** Services this module uses when some module provides them (`ctx.services.find`); their providers load first. */
  uses?: (keyof ParleyServices)[];
  /** Services this module provides (for load order). */
  provides?: (keyof ParleyServices)[];
  /** Protocol support, for docs and the feature list. */
  xeps?: XepSupport[];
  setup(ctx: ModuleContext<z.output<S>>): void | Promise<void>;
}
