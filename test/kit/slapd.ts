import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Attribute, Change, Client } from 'ldapts';
import { generateSelfSigned } from '../../server/tls/certificates.js';
import { writeModule } from './modules.js';

/**
 * A real OpenLDAP `slapd` for the directory tests: started as a child process on loopback ports
 * with a temporary database loaded by `slapadd` from the fixture LDIF (test/fixtures/ldap/), LDAPS
 * and StartTLS with a certificate generated for the run. Two directories live in it: the OpenLDAP
 * layout under dc=example,dc=com and the Active Directory layout under dc=corp,dc=example.
 *
 * Start one per test file (`before`/`after`); each test still starts its own Parley server. When
 * slapd is not installed the tests are skipped with `slapdSkip` as the reason, unless
 * PARLEY_REQUIRE_REAL_PARTS is set (CI), where `startSlapd()` fails with what to install.
 */

const INSTALL_HINT = 'install it with: apt-get install slapd ldap-utils (Debian package slapd)';

interface Tools {
  slapd: string;
  schemaDir: string;
  moduleDir: string;
}

/** PARLEY_SLAPD names the slapd binary to use (and only that one). */
const SLAPD_CANDIDATES = process.env.PARLEY_SLAPD ? [process.env.PARLEY_SLAPD] : ['/usr/sbin/slapd', '/usr/local/sbin/slapd', '/usr/libexec/slapd'];
const SCHEMA_CANDIDATES = ['/etc/ldap/schema', '/etc/openldap/schema', '/usr/local/etc/openldap/schema'];
const MODULE_CANDIDATES = ['/usr/lib/ldap', '/usr/lib64/openldap', '/usr/lib/openldap', '/usr/libexec/openldap', '/usr/local/libexec/openldap'];

function findTools(): Tools | string {
  const slapd = SLAPD_CANDIDATES.find((p) => isExecutable(p));
  if (!slapd) return `slapd was not found (looked for ${SLAPD_CANDIDATES.join(', ')}); ${INSTALL_HINT}`;
  const schemaDir = SCHEMA_CANDIDATES.find((d) => fs.existsSync(path.join(d, 'inetorgperson.schema')));
  if (!schemaDir) return `the OpenLDAP schema files (inetorgperson.schema) were not found in ${SCHEMA_CANDIDATES.join(', ')}; ${INSTALL_HINT}`;
  const moduleDir = MODULE_CANDIDATES.find((d) => fs.existsSync(path.join(d, 'back_mdb.so')) || fs.existsSync(path.join(d, 'back_mdb.la')));
  if (!moduleDir) return `the slapd mdb backend module (back_mdb.so) was not found in ${MODULE_CANDIDATES.join(', ')}; ${INSTALL_HINT}`;
  return { slapd, schemaDir, moduleDir };
}

function isExecutable(p: string): boolean {
  try { fs.accessSync(p, fs.constants.X_OK); return true; } catch { return false; }
}

const tools = findTools();

/** The reason to skip directory tests (slapd missing and not required), or false to run them. */
export const slapdSkip: string | false = typeof tools === 'string' && !process.env.PARLEY_REQUIRE_REAL_PARTS ? tools : false;

/** test/fixtures/ldap, found upwards from this file (the kit runs from dist/ or from a build folder). */
export function ldapFixtureDir(): string {
  if (process.env.PARLEY_LDAP_FIXTURES) return process.env.PARLEY_LDAP_FIXTURES;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'test', 'fixtures', 'ldap');
    if (fs.existsSync(path.join(candidate, 'slapd.conf'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('test/fixtures/ldap/slapd.conf not found above the test kit');
    dir = up;
  }
}

/** One of the two directories in the fixture, with the credentials Parley and the tests use. */
export interface FixtureDirectory {
  baseDn: string;
  /** The service account Parley binds as. */
  serviceDn: string;
  servicePassword: string;
  /** The directory's root DN, for tests that change entries. */
  adminDn: string;
  adminPassword: string;
}

/** A value for `modify`: the new values of an attribute, or null to remove it. */
export type AttributeValues = string | Buffer | (string | Buffer)[] | null;

export class Slapd {
  /** ldap:// URL (StartTLS available). */
  readonly ldapUrl: string;
  /** ldaps:// URL. */
  readonly ldapsUrl: string;
  /** The PEM file of the self-signed certificate slapd presents (its name is "localhost"). */
  readonly caFile: string;
  readonly openldap: FixtureDirectory = {
    baseDn: 'dc=example,dc=com',
    serviceDn: 'cn=parley,ou=services,dc=example,dc=com',
    servicePassword: 'parley-service-secret',
    adminDn: 'cn=admin,dc=example,dc=com',
    adminPassword: 'admin-secret',
  };
  readonly ad: FixtureDirectory = {
    baseDn: 'dc=corp,dc=example',
    serviceDn: 'CN=svc-parley,OU=Service Accounts,DC=corp,DC=example',
    servicePassword: 'parley-service-secret',
    adminDn: 'cn=admin,dc=corp,dc=example',
    adminPassword: 'admin-secret',
  };
  private child: ChildProcess | null = null;
  private output = '';

  constructor(
    private readonly tools: Tools,
    private readonly dir: string,
    private readonly configFile: string,
    readonly ports: { ldap: number; ldaps: number },
  ) {
    this.ldapUrl = `ldap://127.0.0.1:${ports.ldap}`;
    this.ldapsUrl = `ldaps://127.0.0.1:${ports.ldaps}`;
    this.caFile = path.join(dir, 'cert.pem');
  }

  get running(): boolean { return this.child !== null && this.child.exitCode === null; }

  /** Start slapd (again, on the same ports and database) and wait until it accepts connections. */
  async start(): Promise<void> {
    if (this.running) return;
    this.output = '';
    const child = spawn(this.tools.slapd, ['-f', this.configFile, '-h', `${this.ldapUrl}/ ${this.ldapsUrl}/`, '-d', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => { this.output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { this.output += d.toString(); });
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(this.ports.ldap))) {
      if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode} at start:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`slapd did not listen on port ${this.ports.ldap} within 10 s:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stop slapd (the database stays, `start()` brings it back): the "directory outage". */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    this.child = null;
  }

  /** Kill slapd at once (the test process is exiting without its after() hook). */
  kill(): void {
    if (this.running) this.child!.kill('SIGKILL');
  }

  /** Stop and delete the temporary folder. */
  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Run `fn` with a client bound as the root DN of the directory that holds `dn`. */
  async asAdmin<T>(dn: string, fn: (client: Client) => Promise<T>): Promise<T> {
    const d = dn.toLowerCase().endsWith(this.ad.baseDn) ? this.ad : this.openldap;
    const client = new Client({ url: this.ldapsUrl, tlsOptions: { ca: [fs.readFileSync(this.caFile)], servername: 'localhost' }, timeout: 5000, connectTimeout: 5000 });
    try {
      await client.bind(d.adminDn, d.adminPassword);
      return await fn(client);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /** Replace (or with null remove) attributes of an entry. */
  async modify(dn: string, attrs: Record<string, AttributeValues>): Promise<void> {
    const changes = Object.entries(attrs).map(([type, values]) => new Change({
      operation: values === null ? 'delete' : 'replace',
      modification: new Attribute({ type, values: values === null ? [] : (Array.isArray(values) ? values : [values]) as string[] | Buffer[] }),
    }));
    await this.asAdmin(dn, (c) => c.modify(dn, changes));
  }

  /** Add values to or remove values from a multi-valued attribute (a group's members). */
  async changeValues(dn: string, operation: 'add' | 'delete', type: string, values: string[]): Promise<void> {
    await this.asAdmin(dn, (c) => c.modify(dn, new Change({ operation, modification: new Attribute({ type, values }) })));
  }

  async add(dn: string, attrs: Record<string, string | Buffer | (string | Buffer)[]>): Promise<void> {
    await this.asAdmin(dn, (c) => c.add(dn, attrs as Record<string, string | string[]>));
  }

  async remove(dn: string): Promise<void> {
    await this.asAdmin(dn, (c) => c.del(dn));
  }

  /** What slapd printed (errors at start, for failure messages). */
  get log(): string { return this.output; }
}

/**
 * Start a fresh slapd with the fixture data. Throws with installation advice when slapd is
 * missing (callers skip with `slapdSkip` first unless PARLEY_REQUIRE_REAL_PARTS is set).
 */
export async function startSlapd(): Promise<Slapd> {
  if (typeof tools === 'string') throw new Error(`the directory tests need a real OpenLDAP server: ${tools}`);
  const fixtures = ldapFixtureDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-slapd-'));
  try {
    const run = path.join(dir, 'run');
    const data = path.join(dir, 'data');
    for (const d of [run, path.join(data, 'example'), path.join(data, 'corp')]) fs.mkdirSync(d, { recursive: true });
    const { certPem, keyPem } = generateSelfSigned({ domains: ['localhost'], days: 2 });
    fs.writeFileSync(path.join(dir, 'cert.pem'), certPem);
    fs.writeFileSync(path.join(dir, 'key.pem'), keyPem, { mode: 0o600 });
    const config = fs.readFileSync(path.join(fixtures, 'slapd.conf'), 'utf8')
      .replaceAll('@SCHEMA_DIR@', tools.schemaDir)
      .replaceAll('@FIXTURE_DIR@', fixtures)
      .replaceAll('@MODULE_DIR@', tools.moduleDir)
      .replaceAll('@RUN_DIR@', run)
      .replaceAll('@DATA_DIR@', data)
      .replaceAll('@CERT_FILE@', path.join(dir, 'cert.pem'))
      .replaceAll('@KEY_FILE@', path.join(dir, 'key.pem'));
    const configFile = path.join(dir, 'slapd.conf');
    fs.writeFileSync(configFile, config);
    const local = { ...tools, slapd: withoutAppArmor(tools.slapd, dir) };
    await slapadd(local.slapd, configFile, 'dc=example,dc=com', path.join(fixtures, 'openldap-layout.ldif'));
    await slapadd(local.slapd, configFile, 'dc=corp,dc=example', path.join(fixtures, 'ad-layout.ldif'));
    // Free ports are picked before slapd binds them; if another process takes one meanwhile, slapd
    // exits at start, and new ports are tried.
    let slapd: Slapd | null = null;
    for (let attempt = 1; !slapd; attempt++) {
      const candidate = new Slapd(local, dir, configFile, { ldap: await freePort(), ldaps: await freePort() });
      try {
        await candidate.start();
        slapd = candidate;
      } catch (err) {
        await candidate.stop();
        if (attempt === 3) throw err;
      }
    }
    // A test process that ends without its after() hook must not leave slapd running.
    const started = slapd;
    process.once('exit', () => started.kill());
    return started;
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Ubuntu confines /usr/sbin/slapd with an AppArmor profile that forbids temporary folders; a copy of
 * the binary elsewhere runs unconfined. Debian ships no such profile, and the original is used.
 */
function withoutAppArmor(slapd: string, dir: string): string {
  if (!fs.existsSync('/etc/apparmor.d/usr.sbin.slapd')) return slapd;
  const copy = path.join(dir, 'slapd');
  fs.copyFileSync(slapd, copy);
  fs.chmodSync(copy, 0o755);
  return copy;
}

/** `slapd -T add` is slapadd (the same binary under another name). */
function slapadd(slapd: string, configFile: string, suffix: string, ldif: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(slapd, ['-T', 'add', '-f', configFile, '-b', suffix, '-l', ldif], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => code === 0 ? resolve() : reject(new Error(`slapadd of ${path.basename(ldif)} failed (${code}):\n${out}`)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

// ---- the directory module's config for the fixture, and test-only helper modules ----------------

type Json = Record<string, unknown>;

function merge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = cur && v && typeof cur === 'object' && typeof v === 'object' && !Array.isArray(cur) && !Array.isArray(v)
      ? merge(cur as Json, v as Json) : v;
  }
  return out;
}

/**
 * `modules.directory` for the OpenLDAP layout (dc=example,dc=com) over LDAPS: departments Sales and
 * Engineering are shared roster groups, ppolicy's pwdAccountLockedTime disables, only the posixGroup
 * "staff" may log in, no periodic sync (tests sync on demand with the sync helper module).
 */
export function openldapDirectoryConfig(slapd: Slapd, extra: Json = {}): Json {
  return merge({
    url: slapd.ldapsUrl,
    tls: { ca_file: slapd.caFile, server_name: 'localhost' },
    bind_dn: slapd.openldap.serviceDn,
    bind_password: slapd.openldap.servicePassword,
    base_dn: slapd.openldap.baseDn,
    users: { base_dn: 'ou=people,dc=example,dc=com' },
    // OpenLDAP's entryCSN changes with every modification (modifyTimestamp only once a second).
    attributes: { modified: 'entryCSN' },
    groups: { base_dn: 'ou=groups,dc=example,dc=com' },
    shared_groups: ['Sales', 'Engineering'],
    deprovision: { disabled: { attribute: 'pwdAccountLockedTime' }, required_group: 'staff' },
    sync_interval: 0,
    timeouts: { connect: '2s', operation: '3s' },
  }, extra);
}

/**
 * `modules.directory` for the Active Directory layout (dc=corp,dc=example) over ldap:// with
 * StartTLS: sAMAccountName logins, objectGUID ids, memberOf groups, userAccountControl bit 2 disables.
 */
export function adDirectoryConfig(slapd: Slapd, extra: Json = {}): Json {
  return merge({
    url: slapd.ldapUrl,
    starttls: true,
    tls: { ca_file: slapd.caFile, server_name: 'localhost' },
    bind_dn: slapd.ad.serviceDn,
    bind_password: slapd.ad.servicePassword,
    base_dn: slapd.ad.baseDn,
    users: {
      base_dn: 'OU=Users,DC=corp,DC=example',
      filter: '(&(objectClass=user)(sAMAccountName={user}))',
      list_filter: '(objectClass=user)',
    },
    attributes: {
      localpart: 'sAMAccountName', id: 'objectGUID', department: 'department', organization: 'company', photo: 'thumbnailPhoto',
    },
    groups: { source: 'member_of' },
    shared_groups: ['Support'],
    deprovision: { disabled: { attribute: 'userAccountControl', bitmask: 2 } },
    sync_interval: 0,
    timeouts: { connect: '2s', operation: '3s' },
  }, extra);
}

/** The namespace of the test helper module's IQs. */
export const DIRECTORY_TEST_NS = 'urn:parley:test:directory';

/**
 * A test-only module (load it with `module_paths: [directoryHelperModules()]`, modules
 * `directory-test: {}`) that lets a test drive the `directory` service through IQs to the server:
 * <sync/> runs a sync, <release address=''/> releases an address, <person jid=''/> answers what the
 * service says about a person as JSON. It also makes the local account "pat" a partner account.
 */
export function directoryHelperModules(): string {
  return writeModule('directory-test', `
import { defineModule, xml } from 'API';
const NS = ${JSON.stringify(DIRECTORY_TEST_NS)};
export default defineModule({
  name: 'directory-test',
  requires: ['directory'],
  setup(ctx) {
    const directory = ctx.services.use('directory');
    ctx.iq.handle({ type: 'set', xmlns: NS, name: 'sync', to: 'server' }, async () => {
      const r = await directory.sync();
      return xml('sync', { xmlns: NS }, JSON.stringify(r));
    });
    ctx.iq.handle({ type: 'set', xmlns: NS, name: 'release', to: 'server' }, (iq) =>
      xml('release', { xmlns: NS }, String(directory.release(iq.payload.attrs.address))));
    ctx.iq.handle({ type: 'get', xmlns: NS, name: 'person', to: 'server' }, (iq) => {
      const jid = iq.payload.attrs.jid;
      return xml('person', { xmlns: NS }, JSON.stringify({
        person: directory.person(jid) ?? null, groups: directory.groupsOf(jid), manager: directory.managerOf(jid) ?? null,
        reports: directory.reportsOf(jid), isEmployee: directory.isEmployee(jid),
        inSales: directory.isInGroup(jid, 'sales'), salesMembers: directory.membersOf('Sales'),
        retired: directory.retiredAddresses().map((r) => r.local),
      }));
    });
    ctx.auth.addProvider({
      name: 'test-partners',
      exists: () => false,
      sessionKind: (local) => (local === 'pat' ? 'partner' : undefined),
    });
  },
});
`);
}
