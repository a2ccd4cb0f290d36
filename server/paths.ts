import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the installed package lives. Compiled code runs from dist/server/, sources from server/;
 * the schema/ folder always sits at the package root, modules beside the running server code.
 */
function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'schema'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the Parley package root (package.json beside schema/)');
    dir = up;
  }
}

export const PACKAGE_ROOT = findPackageRoot();
export const SCHEMA_ROOT = path.join(PACKAGE_ROOT, 'schema');
/** The built-in modules folder next to the running core (dist/modules when compiled). */
export const BUILTIN_MODULES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'modules');

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The Node.js options Parley is started with (`npm start`): what `package.json`'s start script
 * puts between `node` and `bin/parley.js`. The `parley` command's first line, the Docker image and
 * the benchmark's launcher give the same (a test keeps them equal); README "Node.js settings" says why.
 */
export function startNodeFlags(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const m = /^node((?:\s+--\S+)*)\s+bin\/parley\.js start$/.exec(pkg.scripts.start ?? '');
  if (!m) throw new Error(`package.json: the start script is not "node [--flags] bin/parley.js start": ${pkg.scripts.start}`);
  return m[1]!.trim().split(/\s+/).filter(Boolean);
}
