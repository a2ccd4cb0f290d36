import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { loadConfig } from '../../server/config/load.js';
import { createLogger } from '../../server/logger.js';
import { ParleyServer } from '../../server/server.js';
import { Jid } from '../../server/xml/jid.js';
import { connect, type ConnectOptions, type TestClient } from './client.js';

// The test clients talk to servers with freshly generated self-signed certificates; @xmpp/client's
// STARTTLS cannot be given a CA, so certificate checks are off in the test processes only.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
process.removeAllListeners('warning');

export interface StartOptions {
  /** Module list (default: the server's defaults). */
  modules?: Record<string, unknown>;
  /** Anything else to merge over the test defaults, in parley.yml shape. */
  config?: Record<string, unknown>;
  /** Reuse a data folder (to restart a server on the same database). */
  dataDir?: string;
  logLevel?: string;
}

export interface TestServer {
  server: ParleyServer;
  domain: string;
  dataDir: string;
  ports: { c2s: number; directTls: number; http: number };
  /** Every log line the server wrote, parsed. */
  logs: Record<string, unknown>[];
  createUser(local: string, password?: string): Promise<string>;
  connect(local: string, opts?: Partial<ConnectOptions>): Promise<TestClient>;
  stop(): Promise<void>;
}

/**
 * Start a real server in this process on ephemeral loopback ports, with a temporary data folder
 * and its own certificate. Registers its own teardown with the test context.
 */
export async function startServer(t: TestContext | null, opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'parley-test-'));
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const overrides = deepMerge({
    domains: ['localhost'],
    data_dir: dataDir,
    tls: { certs_dir: path.join(dataDir, 'certs') },
    listeners: {
      c2s: { host: '127.0.0.1', port: 0 },
      c2s_direct_tls: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
    },
    limits: { auth_failure_delay: '50ms', auth_failure_delay_max: '200ms' },
    // @xmpp/client enables resumable stream management; a dropped test client is given up after
    // one second instead of five minutes, so tests of dropped connections see its end quickly.
    stream_management: { resume_timeout: '1s' },
    ...(opts.modules ? { modules: opts.modules } : {}),
  }, opts.config ?? {});
  const config = await loadConfig({ cwd: dataDir, overrides });
  const log = createLogger({ level: opts.logLevel ?? 'debug', format: 'json', destination: sink });
  const server = new ParleyServer(config, log);
  const ports = await server.start();
  const domain = config.core.domains[0]!;
  let stopped = false;
  const clients: TestClient[] = [];
  const ts: TestServer = {
    server, domain, dataDir, logs,
    ports: { c2s: ports.c2s ?? 0, directTls: ports.directTls ?? 0, http: ports.http ?? 0 },
    async createUser(local, password = `${local}-secret`) {
      const jid = Jid.of(local, domain);
      server.accounts.create(jid, password);
      return jid.bare;
    },
    async connect(local, o = {}) {
      const c = await connect({ port: ts.ports.c2s, domain, username: local, password: `${local}-secret`, ...o, httpPort: ts.ports.http, directTlsPort: ts.ports.directTls });
      clients.push(c);
      return c;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
      await server.stop();
    },
  };
  t?.after(() => ts.stop());
  return ts;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = isObject(cur) && isObject(v) ? deepMerge(cur, v) : v;
  }
  return out;
}
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
