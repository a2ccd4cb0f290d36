import fs from 'node:fs';
import type { DirectoryConfig } from './config.js';
import type { ConnectionSettings } from './connection.js';

/**
 * The connection settings from the config, with the service password read from where the config
 * says (inline, a file, an environment variable) and the CA file loaded. Errors name the option and
 * never the password.
 */
export function connectionSettings(c: DirectoryConfig): ConnectionSettings {
  return {
    urls: Array.isArray(c.url) ? c.url : [c.url],
    starttls: c.starttls,
    ca: c.tls.ca_file ? readFile('tls.ca_file', c.tls.ca_file) : undefined,
    serverName: c.tls.server_name,
    minVersion: c.tls.min_version,
    connectTimeoutMs: c.timeouts.connect,
    operationTimeoutMs: c.timeouts.operation,
    bindDn: c.bind_dn ?? null,
    bindPassword: c.bind_dn ? servicePassword(c) : null,
    bindConnections: c.bind_connections,
  };
}

function servicePassword(c: DirectoryConfig): string {
  if (c.bind_password !== undefined) return c.bind_password;
  if (c.bind_password_file !== undefined) {
    const text = readFile('bind_password_file', c.bind_password_file).toString('utf8').replace(/\r?\n$/, '');
    if (text === '') throw new Error(`modules.directory.bind_password_file: ${c.bind_password_file} is empty`);
    return text;
  }
  const name = c.bind_password_env!;
  const value = process.env[name];
  if (!value) throw new Error(`modules.directory.bind_password_env: the environment variable ${name} is not set or empty`);
  return value;
}

function readFile(option: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`modules.directory.${option}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
