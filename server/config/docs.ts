import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { DURATION_META } from './duration.js';
import { describeNumber, numberBounds, schemaLayers, unwrapSchema } from './errors.js';
import { coreConfigSchema } from './schema.js';

// docs/configuration.md is generated from the schema so the reference can never drift from
// what the loader accepts; a test fails when the checked-in copy is stale.

type AnySchema = z.core.$ZodType;

export interface OptionDoc {
  key: string;
  type: string;
  default: string;
  description: string;
}

export const CONFIG_DOCS_PATH = path.join('docs', 'configuration.md');

function defOf(schema: AnySchema) {
  return (schema as z.core.$ZodTypes)._zod.def;
}

function shapeOf(schema: AnySchema): Record<string, AnySchema> {
  const def = defOf(unwrapSchema(schema));
  return def.type === 'object' ? def.shape : {};
}

function descriptionOf(schema: AnySchema): string {
  for (const layer of schemaLayers(schema)) {
    const description = z.globalRegistry.get(layer)?.description;
    if (description) return description;
  }
  return '';
}

function isDuration(schema: AnySchema): boolean {
  return schemaLayers(schema).some((layer) => z.globalRegistry.get(layer)?.valueKind === DURATION_META.valueKind);
}

type DefaultInfo = { kind: 'value'; value: unknown } | { kind: 'optional' } | { kind: 'required' };

/** The default as the user would write it (prefaults hold input values such as "30s"). */
function defaultOf(schema: AnySchema): DefaultInfo {
  for (const layer of schemaLayers(schema)) {
    const def = defOf(layer);
    if (def.type === 'default' || def.type === 'prefault') return { kind: 'value', value: def.defaultValue };
    if (def.type === 'optional') return { kind: 'optional' };
  }
  return { kind: 'required' };
}

function isSection(schema: AnySchema): boolean {
  return defOf(unwrapSchema(schema)).type === 'object';
}

function listElement(schema: AnySchema): AnySchema | undefined {
  const def = defOf(unwrapSchema(schema));
  return def.type === 'array' ? def.element : undefined;
}

/** A short type name for the docs table: "integer from 1 to 65535", "list of strings", "duration". */
function typeText(schema: AnySchema, plural = false): string {
  if (isDuration(schema)) return plural ? 'durations' : 'duration';
  const core = unwrapSchema(schema);
  const def = defOf(core);
  switch (def.type) {
    case 'string':
      return plural ? 'strings' : 'string';
    case 'boolean':
      return plural ? 'booleans' : 'boolean';
    case 'number':
      return plural ? 'numbers' : describeNumber(numberBounds(core)!).replace(/^an? /, '');
    case 'enum':
      return `${plural ? 'values from ' : 'one of '}${Object.values(def.entries).map((v) => `\`${String(v)}\``).join(', ')}`;
    case 'array':
      return `list of ${typeText(def.element, true)}`;
    case 'object':
      return plural ? 'mappings' : 'section';
    case 'record':
      return 'mapping of name to options';
    default:
      return plural ? 'values' : 'any';
  }
}

/** A value written inline, YAML flow style: `["a", "b"]`, `{ disco: {} }`. */
function inlineValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inlineValue).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => `${k}: ${inlineValue(v)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return JSON.stringify(value) ?? String(value);
}

function defaultText(schema: AnySchema): string {
  if (isSection(schema)) return '';
  const info = defaultOf(schema);
  if (info.kind === 'required') return 'required';
  if (info.kind === 'optional') return '(none)';
  return `\`${inlineValue(info.value)}\``;
}

/**
 * One row per option of an object schema, depth first: sections get a row of their own followed
 * by their options, and list-of-mapping options are followed by the fields of each entry (`key[].field`).
 */
export function describeSchema(schema: AnySchema, prefix = ''): OptionDoc[] {
  const rows: OptionDoc[] = [];
  for (const [name, field] of Object.entries(shapeOf(schema))) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    rows.push({ key, type: typeText(field), default: defaultText(field), description: descriptionOf(field) });
    if (isSection(field)) rows.push(...describeSchema(field, key));
    const element = listElement(field);
    if (element && isSection(element)) rows.push(...describeSchema(element, `${key}[]`));
  }
  return rows;
}

/** Every option at its default, as the user would write it; required list-entry fields are left out. */
function exampleValue(schema: AnySchema): Record<string, unknown> {
  const example: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(shapeOf(schema))) {
    if (isSection(field)) {
      example[name] = exampleValue(field);
      continue;
    }
    const info = defaultOf(field);
    if (info.kind === 'value') example[name] = info.value;
  }
  return example;
}

function tableCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function renderTable(rows: OptionDoc[]): string {
  const lines = ['| key | type | default | description |', '| --- | --- | --- | --- |'];
  for (const row of rows) {
    const cells = [`\`${row.key}\``, row.type, row.default, row.description].map(tableCell);
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

const INTRO = `# Configuration

<!-- Generated from server/config/schema.ts by server/config/docs.ts; do not edit by hand.
     Regenerate with: node dist/server/config/docs.js -->

Parley reads one YAML file: \`parley.yml\` in the working directory unless another file is
given. Without a file every option takes its default, which serves \`localhost\` with a
self-signed certificate.

- Every option has a default; write only the ones you change.
- Unknown options are errors, with a suggestion for the likely intended name. A value of the
  wrong type or out of range is an error too. The server does not start until every problem,
  all reported at once, is fixed.
- Relative paths (\`data_dir\`, \`tls.certs_dir\`, \`tls.certificates[].cert\` and \`.key\`,
  \`module_paths\`) are relative to the folder of the configuration file.
- Durations are a number of seconds or a string of number-and-unit parts: \`ms\`, \`s\`, \`m\`,
  \`h\`, \`d\`, \`w\`, \`y\`, as in \`"500ms"\`, \`"30s"\`, \`"10m"\`, \`"1h30m"\`, \`"7d"\`.
- A section written with nothing under it (\`limits:\`) means all of its defaults.
- Each entry under \`modules\` loads that module; its value holds the module's own options,
  validated and documented by the module. A module listed with no value uses its defaults.`;

/** The full text of docs/configuration.md. */
export function renderConfigDocs(): string {
  const example = YAML.stringify(exampleValue(coreConfigSchema)).trimEnd();
  return [
    INTRO,
    '## Example',
    'Every core option at its default value:',
    '```yaml\n' + example + '\n```',
    '## Options',
    renderTable(describeSchema(coreConfigSchema)),
  ].join('\n\n') + '\n';
}

function hasProjectFiles(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'tsconfig.json'));
}

function walkUp(start: string): string | null {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (hasProjectFiles(dir)) return dir;
    if (path.dirname(dir) === dir) return null;
  }
}

/**
 * The repository root (the folder with package.json and tsconfig.json), searched upwards from
 * `start` and then from the working directory, which covers compiled output both inside the
 * repository (dist/) and built elsewhere.
 */
export function findProjectRoot(start: string = path.dirname(fileURLToPath(import.meta.url))): string {
  const root = walkUp(start) ?? walkUp(process.cwd());
  if (root === null) throw new Error(`cannot find the project root (package.json and tsconfig.json) above ${start}`);
  return root;
}

export function writeConfigDocs(root: string = findProjectRoot()): string {
  const target = path.join(root, CONFIG_DOCS_PATH);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, renderConfigDocs());
  return target;
}

// Run directly (`node dist/server/config/docs.js`) to regenerate the checked-in docs.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`wrote ${writeConfigDocs()}`);
}
