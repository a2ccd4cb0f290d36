import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../server/cli/main.js';

interface Restorable { mock: { restore(): void } }
/** The part of node:test's context that the CLI helper uses. */
export interface MockingContext { mock: { method: (o: object, m: string, impl: (...a: unknown[]) => void) => unknown } }

/** Run a `parley` command in-process and capture what it prints (console.log / console.error). */
export async function runCliCaptured(t: MockingContext, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = t.mock.method(console, 'log', (...a: unknown[]) => { out.push(a.join(' ')); }) as Restorable;
  const error = t.mock.method(console, 'error', (...a: unknown[]) => { err.push(a.join(' ')); }) as Restorable;
  try {
    const code = await runCli(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mock.restore();
    error.mock.restore();
  }
}

/**
 * A parley.yml in a new temporary folder, for commands and servers that share it: localhost,
 * data and certificates beside the file, listeners on ephemeral loopback ports; `extra` is more YAML.
 */
export function writeCliConfig(extra = '', prefix = 'parley-cli-'): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const file = path.join(dir, 'parley.yml');
  fs.writeFileSync(file, `domains: [localhost]
data_dir: ./data
tls:
  certs_dir: ./certs
listeners:
  c2s: { host: 127.0.0.1, port: 0 }
  c2s_direct_tls: { host: 127.0.0.1, port: 0 }
  http: { host: 127.0.0.1, port: 0 }
log:
  level: info
${extra}`);
  return { dir, file };
}
