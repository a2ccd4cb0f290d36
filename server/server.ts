import path from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { AccountAdminService, AccountProvider, AccountsApi } from './api/context.js';
import { StanzaError, StreamError } from './api/errors.js';
import type { LoadedConfig } from './config/load.js';
import { DiscoCollection } from './host/disco.js';
import { EventBus } from './host/events.js';
import { HookRegistry } from './host/hooks.js';
import { HttpRoutes } from './host/http-routes.js';
import { IqTable } from './host/iq-table.js';
import { ModuleHost } from './host/module-host.js';
import { Listeners, type BoundAddresses } from './net/listeners.js';
import type { Transport } from './net/transport.js';
import { BUILTIN_MODULES, SCHEMA_ROOT, packageVersion } from './paths.js';
import { Router } from './router/router.js';
import type { Mechanism } from './sasl/mechanism.js';
import { AuthChain } from './sasl/auth-chain.js';
import { PLAIN } from './sasl/plain.js';
import { SCRAM_SHA_1, SCRAM_SHA_1_PLUS, SCRAM_SHA_256, SCRAM_SHA_256_PLUS } from './sasl/scram.js';
import { AuthThrottle } from './sasl/throttle.js';
import type { ClientSession } from './session/client-session.js';
import { SessionRegistry } from './session/registry.js';
import { AccountExistsError, AccountStore, NoSuchAccountError } from './storage/accounts.js';
import { applyMigrations, openDatabase } from './storage/database.js';
import { C2SStream } from './stream/c2s.js';
import { StreamExtensions } from './stream/features.js';
import { ensureCertificate } from './tls/certificates.js';
import { createTlsContexts, loadCertificatePair } from './tls/context.js';
import { Jid } from './xml/jid.js';

const MECHANISMS: Record<string, Mechanism> = {
  'SCRAM-SHA-256-PLUS': SCRAM_SHA_256_PLUS,
  'SCRAM-SHA-1-PLUS': SCRAM_SHA_1_PLUS,
  'SCRAM-SHA-256': SCRAM_SHA_256,
  'SCRAM-SHA-1': SCRAM_SHA_1,
  PLAIN,
};

/**
 * One Parley server instance: configuration, database, module host, router and listeners.
 * Nothing here is global, so several instances can run in one process (the tests do).
 */
export class ParleyServer {
  readonly log: Logger;
  readonly db: Database.Database;
  readonly accounts: AccountStore;
  /** What modules see of accounts (also used by CLI commands that act for a person). */
  readonly accountsApi: AccountsApi;
  readonly sessions = new SessionRegistry<ClientSession>();
  readonly hooks: HookRegistry;
  readonly events: EventBus;
  readonly router: Router;
  readonly host: ModuleHost;
  private readonly iq = new IqTable();
  private readonly disco = new DiscoCollection();
  private readonly extensions = new StreamExtensions();
  private readonly http: HttpRoutes;
  private readonly streams = new Set<C2SStream>();
  /** XEP-0198: resumable sessions by SM id, and the clocks of those waiting for a resumption. */
  private readonly smSessions = new Map<string, ClientSession>();
  private readonly hibernating = new Map<ClientSession, NodeJS.Timeout>();
  readonly auth: AuthChain;
  private listeners: Listeners | null = null;
  private readonly throttle: AuthThrottle;
  private readonly domains: Set<string>;
  private stopping = false;
  ports: BoundAddresses = {};

  constructor(readonly config: LoadedConfig, log: Logger) {
    const core = config.core;
    this.log = log;
    this.domains = new Set(core.domains);
    this.db = openDatabase(core.data_dir);
    applyMigrations(this.db, path.join(SCHEMA_ROOT, 'core'), 'core');
    this.accounts = new AccountStore(this.db, core.sasl.scram_iterations);
    this.hooks = new HookRegistry(log);
    this.events = new EventBus(log);
    this.http = new HttpRoutes(log);
    this.throttle = new AuthThrottle({
      baseDelayMs: core.limits.auth_failure_delay, maxDelayMs: core.limits.auth_failure_delay_max, windowMs: core.limits.auth_failure_window,
    });
    const bareOf = (login: string, domain: string) => { try { return Jid.of(login, domain).bare; } catch { return null; } };
    const localAccounts: AccountProvider = {
      name: 'local',
      exists: (local, domain) => this.accounts.exists(`${local}@${domain}`),
      verifyPassword: async (login, domain, password) => {
        const bare = bareOf(login, domain);
        if (!bare || !this.accounts.exists(bare)) return 'unknown';
        return this.accounts.verifyPassword(bare, password) ? 'ok' : 'wrong';
      },
      scramCredentials: async (login, domain, hash) => {
        const bare = bareOf(login, domain);
        return bare ? this.accounts.scramCredentials(bare, hash) : null;
      },
      loginRefusal: async (local, domain) => {
        const reason = this.accounts.disabledReason(`${local}@${domain}`);
        return reason ? `account disabled: ${reason}` : null;
      },
    };
    this.auth = new AuthChain(localAccounts);
    this.router = new Router({
      log, hooks: this.hooks, events: this.events, iq: this.iq, sessions: this.sessions,
      isLocalDomain: (d) => this.domains.has(d),
      accountExists: (bare) => this.accountExists(bare),
    });
    const admins = new Set(core.admins.map((a) => Jid.parse(a).bare));
    const accountsApi: AccountsApi = this.accountsApi = {
      exists: (bare) => this.accountExists(bare),
      isLocalDomain: (d) => this.domains.has(d),
      domains: core.domains,
      isAdmin: (bare) => admins.has(typeof bare === 'string' ? Jid.parse(bare).bare : bare.bare),
      kindOf: (bare) => this.auth.sessionKind(bare.local, bare.domain),
      verifyPassword: async (bare, password) => {
        if (!this.domains.has(bare.domain) || !(await this.accountExists(bare))) return 'unknown';
        if (await this.auth.loginRefusal(bare.local, bare.domain)) return 'wrong';
        return (await this.auth.saslBackend(bare.domain).verifyPassword(bare.local, password)) ? 'ok' : 'wrong';
      },
    };
    this.host = new ModuleHost({
      log, configFile: config.file, db: this.db, schemaRoot: SCHEMA_ROOT,
      moduleDirs: [BUILTIN_MODULES, ...core.module_paths],
      hooks: this.hooks, events: this.events, iq: this.iq, disco: this.disco, router: this.router,
      sessions: this.sessions, accounts: accountsApi,
      addAccountProvider: (p) => this.auth.add(p),
      extensions: this.extensions, http: this.http,
      server: { name: 'Parley', version: packageVersion(), startedAt: Date.now() },
      dataDir: path.resolve(core.data_dir),
      coreServices: { accountAdmin: this.accountAdmin() },
    });
  }

  private accountExists(bare: Jid): Promise<boolean> {
    return this.auth.exists(bare.local, bare.domain);
  }

  /** Load modules, prepare certificates, open listeners. */
  async start(): Promise<BoundAddresses> {
    const core = this.config.core;
    await this.loadModules();

    const tlsOptions = await this.tlsOptions();
    const streamEnv = this.streamEnvironment();
    const l = core.listeners;
    this.listeners = new Listeners({
      log: this.log,
      tlsOptions,
      c2s: l.c2s.enabled ? { host: l.c2s.host, port: l.c2s.port } : null,
      directTls: l.c2s_direct_tls.enabled ? { host: l.c2s_direct_tls.host, port: l.c2s_direct_tls.port } : null,
      http: l.http.enabled ? { host: l.http.host, port: l.http.port, tls: l.http.tls, websocketPath: l.http.websocket_path } : null,
      onTransport: (t: Transport) => {
        if (this.stopping) { t.destroy(); return; }
        this.streams.add(new C2SStream(streamEnv, t));
      },
      onHttpRequest: (req, res) => this.http.serve(req, res),
      maxConnections: 1_000_000,
    });
    this.ports = await this.listeners.start();
    return this.ports;
  }

  /** Load the configured modules without opening listeners (start() does this first; CLI tools use it alone). */
  async loadModules(): Promise<void> {
    const core = this.config.core;
    const defs = await this.host.resolve(Object.keys(core.modules));
    const configs = this.host.validateConfigs(defs, core.modules as Record<string, unknown>);
    for (const def of defs) await this.host.load(def, configs.get(def.name));
  }

  private async tlsOptions() {
    const core = this.config.core;
    const explicit = new Map(core.tls.certificates.map((c) => [c.domain, c]));
    const pairs = [];
    for (const domain of core.domains) {
      let files = explicit.get(domain);
      if (!files) {
        const ensured = await ensureCertificate(core.tls.certs_dir, domain);
        if (ensured.generated) this.log.warn({ domain, cert: ensured.certFile }, 'generated a self-signed certificate; clients will warn until you install one from your CA');
        files = { domain, cert: ensured.certFile, key: ensured.keyFile };
      }
      const pair = await loadCertificatePair(files.cert, files.key);
      pairs.push({ domain, certPem: pair.certPem, keyPem: pair.keyPem });
    }
    return createTlsContexts(pairs, { minVersion: core.tls.min_version }).secureOptions;
  }

  private streamEnvironment() {
    const core = this.config.core;
    const mechanisms = core.sasl.mechanisms.map((m) => MECHANISMS[m]!);
    const plainOnly = mechanisms.filter((m) => m === PLAIN);
    return {
      log: this.log,
      isHosted: (d: string) => this.domains.has(d),
      limits: {
        maxStanzaBytes: core.limits.max_stanza_bytes, maxDepth: core.limits.max_depth,
        authTimeoutMs: core.limits.auth_timeout, maxSessionsPerUser: core.limits.max_sessions_per_user,
      },
      mechanismsFor: (domain: string) => (this.auth.plainOnly(domain) ? plainOnly : mechanisms),
      saslBackend: (domain: string) => this.auth.saslBackend(domain),
      canonicalLocal: (login: string, domain: string) => this.auth.canonicalLocal(login, domain),
      loginRefusal: (bare: Jid) => this.auth.loginRefusal(bare.local, bare.domain),
      sessionKind: (bare: Jid) => this.auth.sessionKind(bare.local, bare.domain),
      throttle: this.throttle,
      sessions: this.sessions,
      router: this.router,
      hooks: this.hooks,
      events: this.events,
      extensions: this.extensions,
      forget: (s: C2SStream) => { this.streams.delete(s); },
      sm: { enabled: core.stream_management.enabled, resumeTimeoutMs: core.stream_management.resume_timeout, maxUnacked: core.stream_management.max_unacked },
      smSessions: this.smSessions,
      hibernate: (session: ClientSession) => this.hibernate(session),
      wake: (session: ClientSession) => {
        const timer = this.hibernating.get(session);
        if (timer) clearTimeout(timer);
        this.hibernating.delete(session);
        session.onCloseWhileHibernating = null;
      },
      endSession: (session: ClientSession, clean: boolean, reason: string) => this.endSession(session, clean, reason),
    };
  }

  private hibernate(session: ClientSession): void {
    const timer = setTimeout(() => this.endSession(session, false, 'not resumed in time'), this.config.core.stream_management.resume_timeout);
    timer.unref();
    this.hibernating.set(session, timer);
    session.onCloseWhileHibernating = (s) => this.endSession(s, false, 'closed while waiting for resumption');
  }

  /**
   * A session ends for good: it leaves the registry, modules hear 'session/closed' (presence
   * goes unavailable), and what the client never acknowledged is routed again (XEP-0198 5:
   * messages to other resources or offline storage, IQs answered with an error), never dropped.
   */
  private endSession(session: ClientSession, clean: boolean, reason: string): void {
    if (!session.open) return;
    session.open = false;
    const timer = this.hibernating.get(session);
    if (timer) clearTimeout(timer);
    this.hibernating.delete(session);
    this.sessions.unbind(session);
    const unacked = session.sm ? session.sm.takeUnacked() : [];
    if (session.sm) this.smSessions.delete(session.sm.id);
    if (unacked.length > 0) this.log.info({ session: session.id, count: unacked.length }, 'routing unacknowledged stanzas again');
    void this.events.emit('session/closed', { session, clean, reason });
    for (const stanza of unacked) this.router.reroute(stanza);
  }

  /** The core's `accountAdmin` service: local accounts managed at run time, errors as StanzaErrors. */
  private accountAdmin(): AccountAdminService {
    const checked = async (fn: () => void | Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        if (err instanceof AccountExistsError) throw new StanzaError('conflict', err.message);
        if (err instanceof NoSuchAccountError) throw new StanzaError('item-not-found', err.message);
        throw err;
      }
    };
    return {
      create: (jid, password) => checked(async () => {
        this.accounts.create(jid.bareJid(), password);
        await this.events.emit('account/created', { jid: jid.bare });
      }),
      delete: (jid) => checked(() => this.deleteAccount(jid.bareJid())),
      setPassword: (jid, password) => checked(() => this.accounts.setPassword(jid.bareJid(), password)),
      disable: (jid, reason) => checked(async () => {
        this.accounts.setDisabled(jid.bareJid(), reason);
        for (const s of [...this.sessions.ofAccount(jid.bare)]) s.close(new StreamError('not-authorized', 'the account was disabled'));
        await this.events.emit('account/disabled', { jid: jid.bare, reason });
      }),
      enable: (jid) => checked(() => this.accounts.setDisabled(jid.bareJid(), null)),
      isLocal: (jid) => this.accounts.exists(jid.bare),
      endSessions: (jid, reason) => {
        const targets = jid.resource ? [this.sessions.byFullJid(jid.full)].filter((x) => x !== undefined) : [...this.sessions.ofAccount(jid.bare)];
        for (const s of targets) s.close(new StreamError('policy-violation', reason));
        return targets.length;
      },
    };
  }

  /**
   * Delete a local account while the server runs: its sessions end with <not-authorized/>, and
   * modules hear 'account/deleted' to remove what they keep for it (rosters, offline messages ...).
   */
  async deleteAccount(bare: Jid): Promise<void> {
    this.accounts.delete(bare);
    for (const s of [...this.sessions.ofAccount(bare.bare)]) s.close(new StreamError('not-authorized', 'the account was deleted'));
    await this.events.emit('account/deleted', { jid: bare.bare });
  }

  /** RFC 6120 4.4: close every stream with </stream:stream>, stop listening, flush storage. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.events.emit('server/stopping', {}).catch(() => undefined);
    // Stop accepting first, then end every stream; the listeners finish closing once their connections are gone.
    const listenersClosed = this.listeners?.stop();
    for (const s of [...this.streams]) s.close(new StreamError('system-shutdown', 'the server is shutting down'));
    for (const session of [...this.hibernating.keys()]) this.endSession(session, false, 'server stopping');
    await listenersClosed;
    this.router.cancelPending();
    this.host.unloadAll();
    this.db.close();
    this.log.info('server stopped');
    this.log.flush?.();
  }

  /** The folder with the database, for tools. */
  get dataDir(): string { return path.resolve(this.config.core.data_dir); }
}
