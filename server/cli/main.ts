import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/load.js';
import { createLogger } from '../logger.js';
import { ParleyServer } from '../server.js';
import { SCHEMA_ROOT } from '../paths.js';
import { AccountStore } from '../storage/accounts.js';
import { applyMigrations, openDatabase } from '../storage/database.js';
import { generateCsr, generateSelfSigned } from '../tls/certificates.js';
import { Jid } from '../xml/jid.js';
import { readPassword } from './password.js';
import { ARCHIVE_FILTERS, ARCHIVE_OPTIONS, ARCHIVE_USAGE, archiveCommand } from './archive.js';

const USAGE = `Usage: parley <command> [options]

Commands:
  start                          start the server
  config check                   validate the configuration and exit
  user add <jid>                 create a local account (asks for the password)
  user passwd <jid>              change a local account's password
  user delete <jid>              delete a local account
  user list [domain]             list local accounts
  cert generate [domain...]      write a self-signed certificate into the certs folder
  cert csr [domain...]           write a key and a certificate signing request for your CA
  directory sync                 synchronise with the company directory now (deprovisioning included)
  directory retired              list addresses retired because their directory entry went away
  directory release <address>    let a new directory entry take a retired address
${ARCHIVE_USAGE}

Options:
  --config FILE                  configuration file (default: ./parley.yml if present)
  --password-file FILE           read the password from FILE (user add / passwd)
  --password-stdin               read the password from the first line of standard input
  --out DIR                      where cert generate / cert csr write (default: the certs folder)
  --organization NAME            organization for cert csr
  -h, --help                     show this help

${ARCHIVE_FILTERS}
`;

/** Run one `parley` command; returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        config: { type: 'string' }, 'password-file': { type: 'string' }, 'password-stdin': { type: 'boolean' },
        out: { type: 'string' }, organization: { type: 'string' }, help: { type: 'boolean', short: 'h' },
        ...ARCHIVE_OPTIONS,
      },
    });
  } catch (err) {
    console.error(`parley: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, sub, ...rest] = positionals;
  if (values.help || !command) { console.log(USAGE); return command ? 0 : 2; }
  try {
    const config = await loadConfig({ file: values.config });
    switch (command) {
      case 'start': return await start(config);
      case 'config':
        if (sub !== 'check') break;
        return await configCheck(config);
      case 'user': return await user(config, sub, rest, values);
      case 'cert': return certCommand(config, sub, rest, values);
      case 'directory': return await directoryCommand(config, sub, rest);
      case 'archive': return await archiveCommand(config, sub, rest, values);
    }
    console.error(`parley: unknown command "${[command, sub].filter(Boolean).join(' ')}"\n\n${USAGE}`);
    return 2;
  } catch (err) {
    if (err instanceof ConfigError) { console.error(err.message); return 78; }
    console.error(`parley: ${(err as Error).message}`);
    return 1;
  }
}

async function start(config: LoadedConfig): Promise<number> {
  const log = createLogger({ level: config.core.log.level, format: config.core.log.format });
  const server = new ParleyServer(config, log);
  const ports = await server.start();
  const l = config.core.listeners;
  const domain = config.core.domains[0];
  const lines = [
    `Parley is running for ${config.core.domains.join(', ')} (config: ${config.file ?? 'built-in defaults'}, data: ${path.resolve(config.core.data_dir)})`,
    ports.c2s !== undefined ? `  c2s with STARTTLS   ${l.c2s.host} port ${ports.c2s}` : null,
    ports.directTls !== undefined ? `  c2s direct TLS      ${l.c2s_direct_tls.host} port ${ports.directTls}` : null,
    ports.http !== undefined ? `  WebSocket           ${l.http.tls ? 'wss' : 'ws'}://${domain}:${ports.http}${l.http.websocket_path}` : null,
    `Add a user with:  npx parley user add someone@${domain}`,
  ].filter(Boolean);
  process.stderr.write(lines.join('\n') + '\n');
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ signal }, 'shutting down');
      server.stop().then(resolve, (err) => { log.error({ err }, 'shutdown failed'); resolve(); });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  return 0;
}

async function configCheck(config: LoadedConfig): Promise<number> {
  // Module sections are checked by loading each module's schema, without starting anything.
  const log = createLogger({ level: 'error', format: 'pretty' });
  const server = new ParleyServer(config, log);
  try {
    const defs = await server.host.resolve(Object.keys(config.core.modules));
    server.host.validateConfigs(defs, config.core.modules as Record<string, unknown>);
    console.log(`${config.file ?? '(defaults)'}: configuration is valid (${defs.length} modules: ${defs.map((d) => d.name).join(', ')})`);
    return 0;
  } finally {
    server.db.close();
  }
}

function openAccounts(config: LoadedConfig): { store: AccountStore; close(): void } {
  const db = openDatabase(config.core.data_dir);
  applyMigrations(db, path.join(SCHEMA_ROOT, 'core'), 'core');
  return { store: new AccountStore(db, config.core.sasl.scram_iterations), close: () => db.close() };
}

function localJid(config: LoadedConfig, raw: string | undefined): Jid {
  if (!raw) throw new Error('give the account as user@domain');
  const jid = Jid.parse(raw.includes('@') ? raw : `${raw}@${config.core.domains[0]}`);
  if (!jid.local || jid.resource) throw new Error(`"${raw}" is not a bare account address like alice@${config.core.domains[0]}`);
  if (!config.core.domains.includes(jid.domain)) throw new Error(`${jid.domain} is not one of this server's domains (${config.core.domains.join(', ')})`);
  return jid;
}

async function user(config: LoadedConfig, sub: string | undefined, args: string[], values: Record<string, unknown>): Promise<number> {
  const accounts = openAccounts(config);
  try {
    const passwordOpts = { file: values['password-file'] as string | undefined, stdin: values['password-stdin'] as boolean | undefined };
    switch (sub) {
      case 'add': {
        const jid = localJid(config, args[0]);
        const password = await readPassword({ ...passwordOpts, prompt: `Password for ${jid.bare}: ` });
        if (password.length < 1) throw new Error('the password is empty');
        accounts.store.create(jid, password);
        console.log(`created ${jid.bare}`);
        return 0;
      }
      case 'passwd': {
        const jid = localJid(config, args[0]);
        const password = await readPassword({ ...passwordOpts, prompt: `New password for ${jid.bare}: ` });
        if (password.length < 1) throw new Error('the password is empty');
        accounts.store.setPassword(jid, password);
        console.log(`password changed for ${jid.bare}`);
        return 0;
      }
      case 'delete': {
        const jid = localJid(config, args[0]);
        accounts.store.delete(jid);
        console.log(`deleted ${jid.bare}`);
        return 0;
      }
      case 'list': {
        for (const a of accounts.store.all(args[0])) console.log(a.disabledReason ? `${a.jid}\t(disabled: ${a.disabledReason})` : a.jid);
        return 0;
      }
      default:
        console.error('parley user: expected add, passwd, delete or list');
        return 2;
    }
  } finally {
    accounts.close();
  }
}

function certCommand(config: LoadedConfig, sub: string | undefined, args: string[], values: Record<string, unknown>): number {
  const domains = args.length > 0 ? args : [...config.core.domains];
  const out = (values.out as string | undefined) ?? config.core.tls.certs_dir;
  fs.mkdirSync(out, { recursive: true });
  const name = domains[0]!;
  if (sub === 'generate') {
    const { certPem, keyPem } = generateSelfSigned({ domains });
    fs.writeFileSync(path.join(out, `${name}.crt`), certPem);
    fs.writeFileSync(path.join(out, `${name}.key`), keyPem, { mode: 0o600 });
    console.log(`wrote ${path.join(out, `${name}.crt`)} and ${name}.key (self-signed for ${domains.join(', ')})`);
    return 0;
  }
  if (sub === 'csr') {
    const { csrPem, keyPem } = generateCsr({ domains, organization: values.organization as string | undefined });
    // The running certificate's key stays untouched until the CA has answered.
    fs.writeFileSync(path.join(out, `${name}.csr`), csrPem);
    fs.writeFileSync(path.join(out, `${name}.csr.key`), keyPem, { mode: 0o600 });
    console.log(`wrote ${path.join(out, `${name}.csr`)} and ${name}.csr.key: send the CSR to your CA, then install its certificate as ${name}.crt and ${name}.csr.key as ${name}.key`);
    return 0;
  }
  console.error('parley cert: expected generate or csr');
  return 2;
}

/** What the CLI uses of the directory module's service (the core does not import modules). */
interface DirectoryControl {
  sync(): Promise<unknown>;
  lastSync(): unknown;
  retiredAddresses(): { local: string; reason?: string; retiredAt?: number }[];
  release(address: string): boolean;
}

/**
 * `parley directory ...` runs in a process of its own on the same configuration and database:
 * it loads the modules (no listeners), drives the directory service, and stops. Sessions of
 * people it retires are ended by the running server at its next sync.
 */
async function directoryCommand(config: LoadedConfig, sub: string | undefined, args: string[]): Promise<number> {
  if (!('directory' in config.core.modules)) {
    console.error(`parley directory: the directory module is not enabled in ${config.file ?? 'the configuration'}`);
    return 2;
  }
  const log = createLogger({ level: 'warn', format: 'pretty' });
  const server = new ParleyServer(config, log);
  try {
    await server.loadModules();
    const directory = server.host.service('directory') as DirectoryControl | undefined;
    if (!directory) throw new Error('the directory module did not provide its service');
    switch (sub) {
      case 'sync': {
        // Loading the module already ran a full sync; its report is this command's answer.
        const report = directory.lastSync() ?? await directory.sync();
        console.log(JSON.stringify(report, null, 2));
        return (report as { ok?: boolean }).ok === false ? 1 : 0;
      }
      case 'retired':
        for (const r of directory.retiredAddresses()) console.log(`${r.local}${r.reason ? `\t${r.reason}` : ''}`);
        return 0;
      case 'release': {
        if (!args[0]) { console.error('parley directory release: give the address'); return 2; }
        if (!directory.release(args[0])) { console.error(`${args[0]} is not a retired address`); return 1; }
        console.log(`released ${args[0]}: a new directory entry may take it at the next sync`);
        return 0;
      }
      default:
        console.error('parley directory: expected sync, retired or release');
        return 2;
    }
  } finally {
    await server.stop();
  }
}
