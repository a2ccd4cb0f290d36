import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError, formatZodError, problemLine } from './errors.js';
import { coreConfigSchema, type CoreConfig } from './schema.js';

export { ConfigError } from './errors.js';

export const DEFAULT_CONFIG_NAME = 'parley.yml';

// The modules loaded when the config has no `modules` section, taken from the schema's default.
const DEFAULT_MODULES = coreConfigSchema.shape.modules.parse(undefined);

export interface LoadedConfig {
  /** Absolute path of the file read, or null when running on defaults. */
  file: string | null;
  /** Folder relative paths in the config were resolved against. */
  baseDir: string;
  core: CoreConfig;
}

export interface LoadConfigOptions {
  /** Config file; relative to `cwd`. Must exist when given. */
  file?: string;
  /** Where `parley.yml` is looked for when no file is given; defaults to the process's. */
  cwd?: string;
  /** Merged over the file's contents before validation (tests use this instead of writing YAML). */
  overrides?: Record<string, unknown>;
}

/**
 * Reads, validates and freezes the core configuration. Every problem found is reported in one
 * ConfigError, so a misconfigured server refuses to start and says everything that is wrong.
 */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const file = locateConfigFile(opts.file, cwd);
  const baseDir = file === null ? cwd : path.dirname(file);
  const fromFile = file === null ? {} : await readYamlFile(file);
  // A file that is not a mapping is left as it is, to be reported, rather than replaced by overrides.
  const merged = isPlainObject(fromFile) ? deepMerge(fromFile, opts.overrides) : fromFile;

  const problems: string[] = [];
  const input = extractMisplacedModuleOptions(file, merged, problems);
  const result = coreConfigSchema.safeParse(input, { reportInput: true });
  if (!result.success) problems.push(...formatZodError(file, [], result.error, coreConfigSchema));
  // Checked on the raw input so a missing file is reported alongside schema problems, not after them.
  problems.push(...checkCertificateFiles(file, input, baseDir));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);

  return deepFreeze({ file, baseDir, core: resolvePaths(result.data, baseDir) });
}

function locateConfigFile(given: string | undefined, cwd: string): string | null {
  if (given !== undefined) {
    const file = path.resolve(cwd, given);
    if (!isFile(file)) throw new ConfigError([`${given}: file not found`]);
    return file;
  }
  const fallback = path.join(cwd, DEFAULT_CONFIG_NAME);
  return isFile(fallback) ? fallback : null;
}

function isFile(file: string): boolean {
  return fs.statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
}

async function readYamlFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([problemLine(file, [], `cannot read the file: ${(err as Error).message}`)]);
  }
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((e) => yamlProblem(file, e)));
  try {
    // An empty file (or one with only comments) is null: all defaults.
    return doc.toJS() ?? {};
  } catch (err) {
    // Structural problems such as an alias to an undefined anchor only surface here.
    throw new ConfigError([problemLine(file, [], (err as Error).message)]);
  }
}

function yamlProblem(file: string, error: YAML.YAMLError): string {
  // The library appends its own location and a code excerpt after the first line; we print
  // the location in our format and keep each problem on one line.
  const summary = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  const position = error.linePos?.[0];
  const where = position ? `line ${position.line}, column ${position.col}: ` : '';
  return problemLine(file, [], `${where}${summary}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; anything else in `over` (arrays included) replaces what is in `base`. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) merged[key] = deepMerge(base[key], value);
  return merged;
}

/**
 * Module options written at the top level (`ping:` instead of `modules: { ping: ... }`) are a
 * likely mistake that the generic "unknown option" message would explain poorly, so they get
 * their own problem and are removed before validation to avoid reporting them twice.
 */
function extractMisplacedModuleOptions(file: string | null, input: unknown, problems: string[]): unknown {
  if (!isPlainObject(input)) return input;
  const coreKeys = new Set(Object.keys(coreConfigSchema.shape));
  const moduleNames = new Set(Object.keys(isPlainObject(input.modules) ? input.modules : DEFAULT_MODULES));
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!coreKeys.has(key) && moduleNames.has(key)) {
      problems.push(problemLine(file, [key], `unknown option. Options of the ${key} module go under modules.${key}`));
    } else {
      kept[key] = value;
    }
  }
  return kept;
}

function checkCertificateFiles(file: string | null, input: unknown, baseDir: string): string[] {
  const tls = isPlainObject(input) ? input.tls : undefined;
  const certificates = isPlainObject(tls) ? tls.certificates : undefined;
  if (!Array.isArray(certificates)) return [];
  const problems: string[] = [];
  certificates.forEach((entry: unknown, index) => {
    if (!isPlainObject(entry)) return;
    for (const field of ['cert', 'key'] as const) {
      const written = entry[field];
      if (typeof written !== 'string' || written === '') continue;
      if (!isFile(path.resolve(baseDir, written))) {
        problems.push(problemLine(file, ['tls', 'certificates', index, field], `file not found: ${written}`));
      }
    }
  });
  return problems;
}

/** Relative paths mean "next to the config file", so they are made absolute before anyone uses them. */
function resolvePaths(core: CoreConfig, baseDir: string): CoreConfig {
  const resolve = (p: string) => path.resolve(baseDir, p);
  return {
    ...core,
    data_dir: resolve(core.data_dir),
    tls: {
      ...core.tls,
      certs_dir: resolve(core.tls.certs_dir),
      certificates: core.tls.certificates.map((c) => ({ ...c, cert: resolve(c.cert), key: resolve(c.key) })),
    },
    module_paths: core.module_paths.map(resolve),
  };
}

// Configuration is shared by every part of the server; freezing it turns an accidental
// mutation in one module into an immediate TypeError rather than a distant surprise.
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
