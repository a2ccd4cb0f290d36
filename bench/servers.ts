/**
 * The two servers under test, each prepared in its own folder with the same accounts, rosters,
 * certificate and SCRAM iteration count, started as a child process on loopback ports of its own.
 *
 * Parley: a generated parley.yml, its SQLite database filled before start (accounts and
 * roster_items), `parley start`. Prosody (the Debian package): a generated prosody.cfg.lua and
 * its internal file storage written before start (accounts/<user>.dat, roster/<user>.dat, the
 * formats of mod_auth_internal_hashed and rostermanager), `prosody --config <file> -F`.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { attachIndex } from '../modules/archive/derived.js';
import { coreConfigSchema } from '../server/config/schema.js';
import { applyMigrations, openDatabase } from '../server/storage/database.js';
import { SCHEMA_ROOT, startNodeFlags } from '../server/paths.js';
import { generateSelfSigned } from '../server/tls/certificates.js';

export type ServerName = 'parley' | 'prosody';

/** Who exists on both servers: the same accounts, password, salt and rosters. */
export interface Population {
  domain: string;
  password: string;
  /** Salt shared by every account (see scram-client.ts for why), as text: Prosody stores it so. */
  salt: string;
  iterations: number;
  /** Accounts with empty rosters: u1 … uN. */
  plainUsers: string[];
  /** Accounts with mutual 'both' rosters: r1 … rR, each with the contacts `contactsOf` gives. */
  rosterUsers: string[];
  contactsOf(user: string): string[];
  /** The account the coordinator's ping probe logs in with. */
  probeUser: string;
}

export function makePopulation(opts: { plain: number; roster: number; contacts: number; iterations: number }): Population {
  const plainUsers = Array.from({ length: opts.plain }, (_, i) => `u${i + 1}`);
  const rosterUsers = Array.from({ length: opts.roster }, (_, i) => `r${i + 1}`);
  const half = Math.floor(opts.contacts / 2);
  if (opts.roster > 0 && opts.roster <= 2 * half) throw new Error(`the roster scenario needs more than ${2 * half} users for ${opts.contacts} contacts each`);
  const contactsOf = (user: string): string[] => {
    // Contacts are the `half` users before and after, round the ring: every roster is mutual.
    const i = Number(user.slice(1)) - 1;
    const out: string[] = [];
    for (let d = 1; d <= half; d++) {
      out.push(rosterUsers[(i + d) % rosterUsers.length]!, rosterUsers[(i - d + rosterUsers.length) % rosterUsers.length]!);
    }
    return out;
  };
  return {
    domain: 'localhost', password: 'bench-secret', salt: 'parley-bench-salt-0001', iterations: opts.iterations,
    plainUsers, rosterUsers, contactsOf, probeUser: 'probe',
  };
}

export interface Certificate { certFile: string; keyFile: string }

/** One RSA 2048 self-signed certificate for the domain, used by both servers. */
export function writeCertificate(dir: string, domain: string): Certificate {
  fs.mkdirSync(dir, { recursive: true });
  const { certPem, keyPem } = generateSelfSigned({ domains: [domain] });
  const certFile = path.join(dir, `${domain}.crt`);
  const keyFile = path.join(dir, `${domain}.key`);
  fs.writeFileSync(certFile, certPem);
  fs.writeFileSync(keyFile, keyPem, { mode: 0o600 });
  return { certFile, keyFile };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function scramKeys(pop: Population, hash: 'sha1' | 'sha256'): { storedKey: Buffer; serverKey: Buffer } {
  const len = hash === 'sha1' ? 20 : 32;
  const salted = crypto.pbkdf2Sync(pop.password, Buffer.from(pop.salt), pop.iterations, len, hash);
  const clientKey = crypto.createHmac(hash, salted).update('Client Key').digest();
  return {
    storedKey: crypto.createHash(hash).update(clientKey).digest(),
    serverKey: crypto.createHmac(hash, salted).update('Server Key').digest(),
  };
}

export interface RunningServer {
  name: ServerName;
  version: string;
  pid: number;
  port: number;
  directTlsPort: number;
  /** Where its standard output and error go. */
  logFile: string;
  /** Its own log at level warn and above. */
  warnLogFile: string;
  stop(): Promise<void>;
  /** Exit code or signal once it has exited, else null. */
  exited(): string | null;
}

export interface StartOptions {
  /** Lower the server's open-file limit (hardening: behaviour at the fd limit). */
  fdLimit?: number;
  /**
   * Scenario 5: start with message archiving on (Parley: the `archive` and `mam` modules with
   * their defaults; Prosody: mod_mam), on an archive emptied first.
   */
  archive?: boolean;
  /** Extra arguments for node (Parley only), e.g. --cpu-prof. */
  nodeArgs?: string[];
}

/** What the server's archive holds after an archive-on run (read once the server has stopped). */
export interface ArchiveCount {
  /** Where it was read from. */
  where: string;
  /** Message records (Parley: rows of `records` with kind='message'; Prosody: items in every user's archive). */
  records: number;
  /** Parley: distinct (sender, stanza id) among them: equal to `records` when none is stored twice. */
  distinctMessages?: number;
  /** Parley: participant rows shown in a history (each local participant's MAM view of a record). */
  userViews?: number;
}

export interface ServerSetup {
  name: ServerName;
  version: string;
  /** Write configuration and storage into `dir`; called once per run. */
  prepare(dir: string, pop: Population, cert: Certificate): Promise<void>;
  start(opts?: StartOptions): Promise<RunningServer>;
  /** Count what the archive holds; call after an archive-on server has stopped. */
  archiveCount(): ArchiveCount;
}

/** Start `argv`, optionally under a lower open-file limit, logging its output to `logFile`. */
function launch(argv: string[], cwd: string, logFile: string, fdLimit?: number): ChildProcess {
  const out = fs.openSync(logFile, 'w'); // one start, one log: read after each stop
  const [cmd, args] = fdLimit
    ? ['/bin/sh', ['-c', `ulimit -n ${fdLimit} && exec "$@"`, 'sh', ...argv]]
    : [argv[0]!, argv.slice(1)];
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', out, out], env: { ...process.env } });
  fs.closeSync(out);
  return child;
}

async function waitForPort(port: number, child: ChildProcess, logFile: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited during start-up (${child.exitCode ?? child.signalCode}); see ${logFile}:\n${tail(logFile)}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server did not listen on 127.0.0.1:${port} within ${ms} ms; see ${logFile}`);
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

function running(name: ServerName, version: string, child: ChildProcess, port: number, directTlsPort: number, logFile: string, warnLogFile: string): RunningServer {
  let exit: string | null = null;
  const gone = new Promise<void>((resolve) => child.once('exit', (code, signal) => { exit = signal ?? String(code); resolve(); }));
  return {
    name, version, pid: child.pid!, port, directTlsPort, logFile, warnLogFile,
    exited: () => exit,
    async stop() {
      if (exit !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

// ---- Parley -----------------------------------------------------------------------------------

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * Parley's default module list (`modules` in server/config/schema.ts), read from the schema so
 * that the benchmark follows it, without the archive: scenarios 1-4 run without `archive` and
 * `mam` whether or not the default list has them, scenario 5 with both.
 */
export function parleyModules(archive: boolean): string[] {
  const defaults = Object.keys(coreConfigSchema.parse({}).modules);
  const base = defaults.filter((m) => m !== 'archive' && m !== 'mam');
  return archive ? [...base, 'archive', 'mam'] : base;
}

export function parleySetup(): ServerSetup {
  let dir = '';
  let configFile = '';
  let archiveConfigFile = '';
  let ports = { c2s: 0, direct: 0 };
  const pkg = JSON.parse(fs.readFileSync(path.join(SCHEMA_ROOT, '..', 'package.json'), 'utf8')) as { version: string };
  return {
    name: 'parley',
    version: `Parley ${pkg.version} on Node ${process.versions.node}`,
    async prepare(d, pop, cert) {
      dir = d;
      fs.mkdirSync(dir, { recursive: true });
      ports = { c2s: await freePort(), direct: await freePort() };
      configFile = path.join(dir, 'parley.yml');
      archiveConfigFile = path.join(dir, 'parley-archive.yml');
      // Modules: the defaults without archive and mam (parley.yml), or with both and their default
      // options (parley-archive.yml: fail_closed, synchronous=FULL, the writer thread's group
      // commit). HTTP is off: no scenario uses it, as in Prosody's config.
      const config = (archive: boolean) => [
        '# Generated by bench/run.ts for one benchmark run.',
        `domains: [${pop.domain}]`,
        `data_dir: ${JSON.stringify(path.join(dir, 'data'))}`,
        'log: { level: warn, format: json }',
        'tls:',
        `  certs_dir: ${JSON.stringify(path.dirname(cert.certFile))}`,
        `  certificates: [{ domain: ${pop.domain}, cert: ${JSON.stringify(cert.certFile)}, key: ${JSON.stringify(cert.keyFile)} }]`,
        'listeners:',
        `  c2s: { host: 127.0.0.1, port: ${ports.c2s} }`,
        `  c2s_direct_tls: { host: 127.0.0.1, port: ${ports.direct} }`,
        '  http: { enabled: false }',
        `sasl: { scram_iterations: ${pop.iterations} }`,
        `modules: { ${parleyModules(archive).map((m) => `${m}: {}`).join(', ')} }`,
        '',
      ].join('\n');
      fs.writeFileSync(configFile, config(false));
      fs.writeFileSync(archiveConfigFile, config(true));
      const db = openDatabase(path.join(dir, 'data'));
      try {
        applyMigrations(db, path.join(SCHEMA_ROOT, 'core'), 'core');
        applyMigrations(db, path.join(SCHEMA_ROOT, 'roster'), 'roster');
        const sha1 = scramKeys(pop, 'sha1');
        const sha256 = scramKeys(pop, 'sha256');
        const now = Date.now();
        const insertAccount = db.prepare(`INSERT INTO accounts (jid, localpart, domain, salt, iterations, sha1_stored_key,
          sha1_server_key, sha256_stored_key, sha256_server_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
        const insertItem = db.prepare(`INSERT INTO roster_items (owner, contact, name, subscription, ask, approved, groups, created_at, updated_at)
          VALUES (?, ?, NULL, 'both', 0, 0, '[]', ?, ?)`);
        db.transaction(() => {
          for (const user of [...pop.plainUsers, ...pop.rosterUsers, pop.probeUser]) {
            insertAccount.run(`${user}@${pop.domain}`, user, pop.domain, Buffer.from(pop.salt), pop.iterations,
              sha1.storedKey, sha1.serverKey, sha256.storedKey, sha256.serverKey, now, now);
          }
          for (const user of pop.rosterUsers) {
            for (const contact of pop.contactsOf(user)) insertItem.run(`${user}@${pop.domain}`, `${contact}@${pop.domain}`, now, now);
          }
        })();
      } finally {
        db.close();
      }
    },
    async start(opts = {}) {
      const logFile = path.join(dir, 'parley.log');
      const launcher = path.join(HERE, 'parley-launcher.js');
      if (opts.archive) {
        // A fresh archive for each archive-on start: records, chain, checkpoints and key.
        fs.rmSync(path.join(dir, 'data', 'archive'), { recursive: true, force: true });
        fs.rmSync(path.join(dir, 'data', 'archive-keys'), { recursive: true, force: true });
      }
      const file = opts.archive ? archiveConfigFile : configFile;
      // Started with the Node.js options of `npm start` (the young generation's size: README).
      const child = launch([process.execPath, ...startNodeFlags(), ...(opts.nodeArgs ?? []), launcher, 'start', '--config', file], dir, logFile, opts.fdLimit);
      await waitForPort(ports.c2s, child, logFile);
      // Parley logs JSON lines at warn and above to the same output as its start-up banner.
      return running('parley', this.version, child, ports.c2s, ports.direct, logFile, logFile);
    },
    archiveCount() {
      // The archive module's default path: <data_dir>/archive/archive.db.
      const file = path.join(dir, 'data', 'archive', 'archive.db');
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        // Participants (the users' views) are in the archive's index file (modules/archive/derived.ts).
        attachIndex(db, file);
        const records = (db.prepare("SELECT count(*) AS n FROM records WHERE kind = 'message'").get() as { n: number }).n;
        // The client's message id (id='m<seq>', unique per sender) from the stored stanza, as the
        // sender sent it: a message stored twice would show up as a repeated (sender, id).
        const distinctMessages = (db.prepare(`
          WITH m AS (SELECT sender_bare, stanza, instr(stanza, ' id=') AS p FROM records WHERE kind = 'message')
          SELECT count(*) AS n FROM (SELECT DISTINCT sender_bare,
            CASE WHEN p = 0 THEN stanza ELSE substr(stanza, p + 5, instr(substr(stanza, p + 5), substr(stanza, p + 4, 1)) - 1) END AS mid
            FROM m)`).get() as { n: number }).n;
        const userViews = (db.prepare('SELECT count(*) AS n FROM parties WHERE shown = 1').get() as { n: number }).n;
        return { where: file, records, distinctMessages, userViews };
      } finally {
        db.close();
      }
    },
  };
}

// ---- Prosody ----------------------------------------------------------------------------------

/** Lua string literal. */
function lua(s: string): string {
  return JSON.stringify(s);
}

/** util.datamanager's encoding of host and user names in paths. */
function encodePath(s: string): string {
  return s.replace(/[^A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function prosodyVersion(): string | null {
  try {
    const out = execFileSync('prosodyctl', ['about'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 });
    const version = /^Prosody (\S+)/m.exec(out)?.[1];
    const lua5 = /Lua version:\s+(.+)/.exec(out)?.[1]?.trim();
    const backend = /Backend:\s+(\S+)/.exec(out)?.[1];
    return version ? `Prosody ${version} (${lua5 ?? 'Lua ?'}, ${backend ?? '?'} backend)` : null;
  } catch {
    return null;
  }
}

export interface ProsodyOptions {
  /** Prosody's network_settings (net/server_epoll options), e.g. { nagle: false }; default: none. */
  networkSettings?: Record<string, boolean | number>;
  /** Modules to leave out of the list below (sensitivity checks: what one module costs). */
  without?: string[];
}

const PROSODY_MODULES = [
  'roster', 'saslauth', 'tls', 'disco', 'ping', 'version', 'time',
  'blocklist', 'vcard', 'lastactivity', 'private', 'smacks',
  'carbons', 'csi_simple', 'pep', 'bookmarks', 'adhoc', 'admin_adhoc', 'server_contact_info',
];

/**
 * Scenario 5 on Prosody: mod_mam archives every message (default_archive_policy = true, its
 * default) in Prosody's `internal` storage, the file storage of the rest of the benchmark: the
 * `sql` backend would need LuaDBI (Debian lua-dbi-sqlite3), which the benchmark does not install.
 * archive_expires_after = "1w" is mod_mam's default; its daily expiry job does not run within a
 * run. mod_storage_internal appends each item to <user>.list without an fsync.
 */
const PROSODY_ARCHIVE_SETTINGS = [
  'default_archive_policy = true',
  'archive_expires_after = "1w"',
];

export function prosodySetup(version: string, opts: ProsodyOptions = {}): ServerSetup {
  let dir = '';
  let configFile = '';
  let archiveConfigFile = '';
  let hostDir = '';
  let ports = { c2s: 0, direct: 0 };
  return {
    name: 'prosody',
    version,
    async prepare(d, pop, cert) {
      dir = d;
      const data = path.join(dir, 'data');
      fs.mkdirSync(data, { recursive: true, mode: 0o750 });
      ports = { c2s: await freePort(), direct: await freePort() };
      configFile = path.join(dir, 'prosody.cfg.lua');
      archiveConfigFile = path.join(dir, 'prosody-archive.cfg.lua');
      // Modules: the counterparts of Parley's default list (disco, ping, version, time, message,
      // roster, presence, offline, blocking, vcard, last, private, carbons, csi, caps, pep,
      // bookmarks, adhoc, admin, contact-info; Prosody's mod_pep reads entity caps itself) plus
      // smacks (Parley has XEP-0198 in its core). mod_limits (rate limits) is NOT loaded.
      // Keep this list in step with `modules` in server/config/schema.ts.
      const modules = PROSODY_MODULES.filter((m) => !opts.without?.includes(m));
      const config = (archive: boolean) => [
        '-- Generated by bench/run.ts for one benchmark run.',
        `pidfile = ${lua(path.join(dir, 'prosody.pid'))}`,
        `data_path = ${lua(data)}`,
        'interfaces = { "127.0.0.1" }',
        'local_interfaces = { "127.0.0.1" }',
        `c2s_ports = { ${ports.c2s} }`,
        `c2s_direct_tls_ports = { ${ports.direct} }`,
        'http_ports = { }',
        'https_ports = { }',
        'admins = { }',
        `modules_enabled = { ${(archive ? [...modules, 'mam'] : modules).map(lua).join('; ')} }`,
        '-- offline, presence, message and iq are loaded automatically; no federation in the benchmark.',
        'modules_disabled = { "s2s" }',
        'authentication = "internal_hashed"',
        'storage = "internal"',
        `default_iteration_count = ${pop.iterations}`,
        'c2s_require_encryption = true',
        'allow_registration = false',
        // mod_posix refuses to start as root unless told; the benchmark runs as whoever starts it.
        ...(process.getuid?.() === 0 ? ['run_as_root = true'] : []),
        `log = { { levels = { min = "warn" }, to = "file", filename = ${lua(path.join(dir, 'prosody.log'))} } }`,
        `certificates = ${lua(path.dirname(cert.certFile))}`,
        `ssl = { certificate = ${lua(cert.certFile)}, key = ${lua(cert.keyFile)} }`,
        ...(opts.networkSettings && Object.keys(opts.networkSettings).length > 0
          ? [`network_settings = { ${Object.entries(opts.networkSettings).map(([k, v]) => `${k} = ${String(v)}`).join('; ')} }`]
          : []),
        ...(archive ? PROSODY_ARCHIVE_SETTINGS : []),
        `VirtualHost ${lua(pop.domain)}`,
        '',
      ].join('\n');
      fs.writeFileSync(configFile, config(false));
      fs.writeFileSync(archiveConfigFile, config(true));
      const sha1 = scramKeys(pop, 'sha1');
      const host = path.join(data, encodePath(pop.domain));
      hostDir = host;
      fs.mkdirSync(path.join(host, 'accounts'), { recursive: true });
      fs.mkdirSync(path.join(host, 'roster'), { recursive: true });
      const account = [
        'return {',
        `\t["iteration_count"] = ${pop.iterations};`,
        `\t["salt"] = ${lua(pop.salt)};`,
        `\t["server_key"] = ${lua(sha1.serverKey.toString('hex'))};`,
        `\t["stored_key"] = ${lua(sha1.storedKey.toString('hex'))};`,
        '};',
        '',
      ].join('\n');
      for (const user of [...pop.plainUsers, ...pop.rosterUsers, pop.probeUser]) {
        fs.writeFileSync(path.join(host, 'accounts', `${encodePath(user)}.dat`), account);
      }
      for (const user of pop.rosterUsers) {
        const lines = ['return {', '\t[false] = { ["version"] = 1; ["pending"] = { }; };'];
        for (const contact of pop.contactsOf(user)) {
          lines.push(`\t[${lua(`${contact}@${pop.domain}`)}] = { ["subscription"] = "both"; ["groups"] = { }; };`);
        }
        lines.push('};', '');
        fs.writeFileSync(path.join(host, 'roster', `${encodePath(user)}.dat`), lines.join('\n'));
      }
    },
    async start(opts = {}) {
      const logFile = path.join(dir, 'prosody.out');
      fs.writeFileSync(path.join(dir, 'prosody.log'), '');
      if (opts.archive) {
        // A fresh archive for each archive-on start (mod_mam's stores: archive, archive_cleanup, archive_prefs).
        for (const store of ['archive', 'archive_cleanup', 'archive_prefs']) fs.rmSync(path.join(hostDir, store), { recursive: true, force: true });
      }
      const child = launch(['prosody', '--config', opts.archive ? archiveConfigFile : configFile, '-F'], dir, logFile, opts.fdLimit);
      await waitForPort(ports.c2s, child, logFile);
      return running('prosody', version, child, ports.c2s, ports.direct, logFile, path.join(dir, 'prosody.log'));
    },
    archiveCount() {
      // mod_storage_internal: one `item(...);` line per archived stanza in <host>/archive/<user>.list.
      const folder = path.join(hostDir, 'archive');
      let records = 0;
      for (const name of fs.existsSync(folder) ? fs.readdirSync(folder) : []) {
        if (!name.endsWith('.list')) continue;
        const text = fs.readFileSync(path.join(folder, name), 'utf8');
        for (let i = text.indexOf('item('); i >= 0; i = text.indexOf('\nitem(', i + 1)) records++;
      }
      return { where: folder, records };
    },
  };
}
