import net from 'node:net';
import tls from 'node:tls';
import { Client, InvalidCredentialsError, ResultCodeError, type Entry, type SearchOptions } from 'ldapts';
import type { ModuleContext } from '../../server/api/index.js';

type Log = ModuleContext['log'];

/** The directory cannot be used right now (down, unreachable, TLS failure, wrong service credentials). */
export class DirectoryUnreachable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DirectoryUnreachable';
  }
}

export interface ConnectionSettings {
  urls: readonly string[];
  starttls: boolean;
  ca: Buffer | undefined;
  serverName: string | undefined;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  connectTimeoutMs: number;
  operationTimeoutMs: number;
  bindDn: string | null;
  /** Never logged. */
  bindPassword: string | null;
  bindConnections: number;
}

/**
 * Whether the directory works, for the logs: an outage is logged once when it starts (not once
 * per login) and once when it ends.
 */
export class DirectoryHealth {
  private downSince: number | null = null;

  constructor(private readonly log: Log) {}

  failed(reason: string): void {
    if (this.downSince !== null) return;
    this.downSince = Date.now();
    this.log.error({ reason }, 'the directory is unreachable: directory users cannot log in (temporary-auth-failure) until it is back');
  }

  succeeded(): void {
    if (this.downSince === null) return;
    const downForMs = Date.now() - this.downSince;
    this.downSince = null;
    this.log.info({ downForMs }, 'the directory is reachable again');
  }
}

/**
 * Connections to the directory: one connection bound as the service account for searches (LDAP
 * runs several searches at once on one connection), and a small pool for checking passwords by
 * binding as the user (one bind at a time per connection). Every connection is TLS (LDAPS or
 * StartTLS) with certificate verification unless the config explicitly allows otherwise.
 *
 * ldapts reconnects a closed connection silently, without StartTLS and unauthenticated; a search
 * on such a connection would run anonymously and could come back empty. So a connection here is
 * never re-opened: once closed it fails, is dropped, and a fresh one is opened, TLS and bind first.
 */
export class DirectoryConnections {
  private service: Client | null = null;
  private opening: Promise<Client> | null = null;
  private readonly idle: Client[] = [];
  private bindOpen = 0;
  /** Password checks waiting for a pool connection; woken when one is released or dropped. */
  private readonly waiting: (() => void)[] = [];
  /** Index of the URL that worked last: failover sticks to it. */
  private preferred = 0;
  private closed = false;

  constructor(private readonly s: ConnectionSettings, readonly health: DirectoryHealth) {}

  /** A search as the service account. Throws DirectoryUnreachable, or the LDAP error of a refused search. */
  async search(base: string, options: SearchOptions): Promise<Entry[]> {
    for (let attempt = 0; ; attempt++) {
      const { client, reused } = await this.serviceClient();
      try {
        const { searchEntries } = await client.search(base, options);
        this.health.succeeded();
        return searchEntries;
      } catch (err) {
        if (err instanceof ResultCodeError && !isOutage(err)) {
          // The directory answered, with a refusal (no such base, insufficient access ...).
          this.health.succeeded();
          throw err;
        }
        this.dropService(client);
        if (this.closed) throw new DirectoryUnreachable('the server is stopping');
        // A kept connection the server has closed meanwhile (idle timeout, restart): once more on a fresh one.
        if (reused && attempt === 0) continue;
        const reason = describe(err);
        this.health.failed(reason);
        throw new DirectoryUnreachable(reason, { cause: err });
      }
    }
  }

  /**
   * Check a password by binding as `dn` (RFC 4513 5.1.3). True when the directory accepts it, false
   * when it refuses (wrong password, locked account); throws DirectoryUnreachable.
   */
  async checkPassword(dn: string, password: string): Promise<boolean> {
    // RFC 4513 5.1.2: a simple bind with an empty password is an unauthenticated bind, which
    // "succeeds" without checking anything. Never let it stand for a password check.
    if (password === '' || dn === '') return false;
    for (let attempt = 0; ; attempt++) {
      const { client, reused } = await this.bindClient();
      let keep = true;
      try {
        await client.bind(dn, password);
        this.health.succeeded();
        return true;
      } catch (err) {
        if (err instanceof InvalidCredentialsError || (err instanceof ResultCodeError && !isOutage(err))) {
          this.health.succeeded();
          return false;
        }
        keep = false;
        if (this.closed) throw new DirectoryUnreachable('the server is stopping');
        if (reused && attempt === 0) continue;
        const reason = describe(err);
        this.health.failed(reason);
        throw new DirectoryUnreachable(reason, { cause: err });
      } finally {
        this.releaseBindClient(client, keep);
      }
    }
  }

  /** Close every connection (server stopping). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle, ...(this.service ? [this.service] : [])];
    this.idle.length = 0;
    this.service = null;
    for (const wake of this.waiting.splice(0)) wake();
    await Promise.all(all.map((c) => c.unbind().catch(() => undefined)));
  }

  // ---- the service connection ---------------------------------------------------------------

  private async serviceClient(): Promise<{ client: Client; reused: boolean }> {
    if (this.closed) throw new DirectoryUnreachable('the server is stopping');
    const current = this.service;
    if (current && current.isConnected && (this.s.bindDn === null || current.isBound)) return { client: current, reused: true };
    if (current) this.dropService(current);
    this.opening ??= this.open(true).finally(() => { this.opening = null; });
    const client = await this.opening;
    this.service = client;
    return { client, reused: false };
  }

  private dropService(client: Client): void {
    if (this.service === client) this.service = null;
    void client.unbind().catch(() => undefined);
  }

  // ---- the password-check pool ---------------------------------------------------------------

  private async bindClient(): Promise<{ client: Client; reused: boolean }> {
    for (;;) {
      if (this.closed) throw new DirectoryUnreachable('the server is stopping');
      while (this.idle.length > 0) {
        const c = this.idle.pop()!;
        if (c.isConnected) return { client: c, reused: true };
        this.bindOpen--;
        void c.unbind().catch(() => undefined);
      }
      if (this.bindOpen < this.s.bindConnections) break;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.bindOpen++;
    try {
      return { client: await this.open(false), reused: false };
    } catch (err) {
      this.bindOpen--;
      this.waiting.shift()?.();
      throw err;
    }
  }

  private releaseBindClient(client: Client, keep: boolean): void {
    if (!keep || this.closed || !client.isConnected) {
      this.bindOpen--;
      void client.unbind().catch(() => undefined);
    } else {
      this.idle.push(client);
    }
    this.waiting.shift()?.();
  }

  // ---- opening a connection --------------------------------------------------------------------

  /** A new connection, TLS in place, bound as the service account when `asService`; tries each URL. */
  private async open(asService: boolean): Promise<Client> {
    const urls = this.s.urls;
    let lastError: unknown = null;
    for (let k = 0; k < urls.length; k++) {
      const i = (this.preferred + k) % urls.length;
      const client = this.newClient(urls[i]!);
      try {
        // ldapts bounds the TCP connect and each operation, not the TLS handshake after StartTLS.
        await deadline(this.prepare(client, urls[i]!, asService), this.s.connectTimeoutMs + this.s.operationTimeoutMs);
        this.preferred = i;
        return client;
      } catch (err) {
        void client.unbind().catch(() => undefined);
        if (err instanceof DirectoryUnreachable) {
          this.health.failed(err.message);
          throw err;
        }
        lastError = err;
      }
    }
    const reason = describe(lastError);
    this.health.failed(reason);
    throw new DirectoryUnreachable(reason, { cause: lastError });
  }

  /** TLS (StartTLS for ldap://) and the service bind on a new connection. */
  private async prepare(client: Client, url: string, asService: boolean): Promise<void> {
    if (this.s.starttls && url.toLowerCase().startsWith('ldap://')) await client.startTLS(this.tlsOptions(url));
    if (asService && this.s.bindDn !== null) {
      try {
        await client.bind(this.s.bindDn, this.s.bindPassword ?? '');
      } catch (err) {
        if (err instanceof InvalidCredentialsError) {
          // A configuration error, the same on every replica: no failover.
          throw new DirectoryUnreachable(`the directory refused the service account ${this.s.bindDn} (wrong bind_dn or password)`, { cause: err });
        }
        throw err;
      }
    } else if (!client.isConnected) {
      // Connect now (reading the root DSE), so that an unreachable URL fails over here.
      await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] }).catch((err: unknown) => {
        if (!(err instanceof ResultCodeError)) throw err; // a refusal still means the connection works
      });
    }
  }

  private newClient(url: string): Client {
    // One TCP connection per client: the factories refuse a second one (see the class comment).
    let plainUsed = false;
    let secureUsed = false;
    const createConnection = ((...args: Parameters<typeof net.connect>) => {
      if (plainUsed) throw new Error('the directory connection was closed');
      plainUsed = true;
      return net.connect(...args);
    }) as typeof net.connect;
    const createSecureConnection = ((...args: Parameters<typeof tls.connect>) => {
      if (secureUsed) throw new Error('the directory connection was closed');
      secureUsed = true;
      return tls.connect(...args);
    }) as typeof tls.connect;
    return new Client({
      url,
      timeout: this.s.operationTimeoutMs,
      connectTimeout: this.s.connectTimeoutMs,
      // Only for ldaps://: ldapts treats any tlsOptions as "TLS from the start", which breaks StartTLS.
      ...(url.toLowerCase().startsWith('ldaps://') ? { tlsOptions: this.tlsOptions(url) } : {}),
      strictDN: false,
      createConnection,
      createSecureConnection,
    });
  }

  /** TLS options for a URL: the configured CA (else the system's), the name to verify, never unverified. */
  private tlsOptions(url: string): tls.ConnectionOptions {
    const host = urlHost(url);
    const name = this.s.serverName ?? host;
    const opts: tls.ConnectionOptions = {
      host,
      rejectUnauthorized: true,
      minVersion: this.s.minVersion,
      // checkServerIdentity compares the certificate with this name (an IP address is matched against IP SANs).
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
    };
    if (net.isIP(name) === 0) opts.servername = name;
    if (this.s.ca) opts.ca = [this.s.ca];
    return opts;
  }
}

/** LDAP result codes that mean "not now" rather than an answer: busy (51), unavailable (52), other (80). */
function isOutage(err: ResultCodeError): boolean {
  return err.code === 51 || err.code === 52 || err.code === 80 || err.code === 13;
}

/** `p`, or a rejection after `ms` (the caller drops the connection). */
function deadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the directory within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function urlHost(url: string): string {
  const rest = url.replace(/^ldaps?:\/\//i, '').replace(/\/$/, '');
  if (rest.startsWith('[')) return rest.slice(1, rest.indexOf(']'));
  return rest.split(':')[0]!;
}

/** One line about what went wrong, without credentials (ldapts errors never contain the password). */
export function describe(err: unknown): string {
  if (err === null || err === undefined) return 'no directory URL could be used';
  const e = err as { code?: unknown; message?: string };
  const first = (e.message ?? String(err)).split('\n')[0]!;
  return typeof e.code === 'string' && !first.includes(e.code) ? `${e.code}: ${first}` : first;
}
