import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../server/paths.js';

/** All .ts files under a folder, with their import specifiers. */
function sources(dir: string): { file: string; imports: string[] }[] {
  const out: { file: string; imports: string[] }[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const text = fs.readFileSync(p, 'utf8');
        const imports = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
        out.push({ file: p, imports });
      }
    }
  };
  walk(dir);
  return out;
}

const rel = (p: string) => path.relative(PACKAGE_ROOT, p);

test('the core never imports a module', () => {
  const offenders = sources(path.join(PACKAGE_ROOT, 'server'))
    .filter((s) => !s.file.endsWith('.test.ts'))
    .flatMap((s) => s.imports.filter((i) => path.resolve(path.dirname(s.file), i).startsWith(path.join(PACKAGE_ROOT, 'modules') + path.sep)).map((i) => `${rel(s.file)} -> ${i}`));
  assert.deepEqual(offenders, []);
});

test('modules import the core only through server/api', () => {
  const api = path.join(PACKAGE_ROOT, 'server', 'api') + path.sep;
  const server = path.join(PACKAGE_ROOT, 'server') + path.sep;
  const offenders = sources(path.join(PACKAGE_ROOT, 'modules'))
    .filter((s) => !s.file.endsWith('.test.ts'))
    .flatMap((s) => s.imports.filter((i) => {
      if (!i.startsWith('.')) return false;
      const target = path.resolve(path.dirname(s.file), i);
      return target.startsWith(server) && !target.startsWith(api);
    }).map((i) => `${rel(s.file)} -> ${i}`));
  assert.deepEqual(offenders, []);
});

test("a module never imports another module's code (type-only imports of a service.ts are allowed)", () => {
  const modulesDir = path.join(PACKAGE_ROOT, 'modules');
  const offenders: string[] = [];
  for (const s of sources(modulesDir)) {
    if (s.file.endsWith('.test.ts')) continue;
    const own = path.relative(modulesDir, s.file).split(path.sep)[0];
    const text = fs.readFileSync(s.file, 'utf8');
    for (const i of s.imports) {
      if (!i.startsWith('.')) continue;
      const target = path.resolve(path.dirname(s.file), i);
      if (!target.startsWith(modulesDir + path.sep)) continue;
      const other = path.relative(modulesDir, target).split(path.sep)[0];
      if (other === own) continue;
      const typeOnly = new RegExp(`import\\s+type\\s[^;]*from\\s+['"]${i.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]`).test(text);
      if (!(typeOnly && /\/service\.js$/.test(i))) offenders.push(`${rel(s.file)} -> ${i}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('every module folder has an index.ts, a README.md and a test', () => {
  const modulesDir = path.join(PACKAGE_ROOT, 'modules');
  const missing: string[] = [];
  for (const name of fs.readdirSync(modulesDir)) {
    const dir = path.join(modulesDir, name);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of ['index.ts', 'README.md']) if (!fs.existsSync(path.join(dir, f))) missing.push(`modules/${name}/${f}`);
    if (!fs.readdirSync(dir).some((f) => f.endsWith('.test.ts'))) missing.push(`modules/${name}/*.test.ts`);
  }
  assert.deepEqual(missing, []);
});
