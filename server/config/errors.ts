import path from 'node:path';
import { z } from 'zod';

// Config errors are read by operators at start-up, so each line must stand alone:
// which file, which option (dotted path), what was expected and what was found.

type AnySchema = z.core.$ZodType;
type Issue = z.core.$ZodIssue;

const MAX_SUGGESTION_DISTANCE = 3;
// Wrappers are unwrapped in a loop; a bound stops a pathological lazy schema from spinning forever.
const MAX_WRAPPER_DEPTH = 64;

/** Every problem found while loading configuration, reported together so one restart fixes them all. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(public readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** The file name as printed in errors: relative to where the operator ran the command when inside it. */
export function fileLabel(file: string | null): string {
  if (file === null) return '(defaults)';
  const relative = path.relative(process.cwd(), file);
  const outside = relative === '' || relative.startsWith('..') || path.isAbsolute(relative);
  return outside ? file : relative;
}

/** Joins a label, an optional dotted path and a message into one error line. */
export function problemLine(file: string | null, pathSegments: readonly PropertyKey[], message: string): string {
  const where = formatPath(pathSegments);
  return where === '' ? `${fileLabel(file)}: ${message}` : `${fileLabel(file)}: ${where}: ${message}`;
}

/** `limits.max_depth`, `tls.certificates[0].cert`; odd keys are quoted so the path stays unambiguous. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z0-9_-]+$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** How a value the user wrote is quoted in messages: strings quoted, containers summarised. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(truncate(value));
  if (value === null || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list ${truncate(compactJson(value))}`;
  if (typeof value === 'object') {
    return Object.keys(value).length === 0 ? 'an empty mapping' : `a mapping ${truncate(compactJson(value))}`;
  }
  return typeof value;
}

function compactJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function truncate(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/**
 * The option closest to `word` by edit distance, if it is close enough to be a plausible typo:
 * at most 3 edits, and at most half the word, so "ping" does not become "log".
 */
export function suggest(word: string, options: readonly string[]): string | null {
  const maxDistance = Math.min(MAX_SUGGESTION_DISTANCE, Math.ceil(word.length / 2));
  let best: string | null = null;
  let bestDistance = maxDistance + 1;
  for (const option of options) {
    const distance = levenshtein(word.toLowerCase(), option.toLowerCase());
    if (distance < bestDistance) {
      best = option;
      bestDistance = distance;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}

// ---------------------------------------------------------------------------
// Schema introspection. Zod issues say what failed but not what the option
// accepts (bounds, valid keys), so messages look that up in the schema itself.
// Only `_zod.def` is read, which works for any zod v4 schema, classic or mini.

function defOf(schema: AnySchema) {
  return (schema as z.core.$ZodTypes)._zod.def;
}

/** The schema one wrapper (default, optional, preprocess, ...) further in, or undefined at the core. */
function innerSchema(schema: AnySchema): AnySchema | undefined {
  const def = defOf(schema);
  switch (def.type) {
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return def.innerType;
    case 'lazy':
      return def.getter();
    case 'pipe':
      // A preprocess step is pipe(transform, schema): the user-facing shape is the second half.
      // Otherwise the first half is what validates the user's input.
      return defOf(def.in).type === 'transform' ? def.out : def.in;
    default:
      return undefined;
  }
}

/** The schema and each wrapper around it, outermost first; the last entry is the core type. */
export function schemaLayers(schema: AnySchema): AnySchema[] {
  const layers = [schema];
  for (let inner = innerSchema(schema); inner && layers.length < MAX_WRAPPER_DEPTH; inner = innerSchema(inner)) {
    layers.push(inner);
  }
  return layers;
}

export function unwrapSchema(schema: AnySchema): AnySchema {
  return schemaLayers(schema).at(-1)!;
}

/** The schema that validates the value at `segments` below `schema`, if it can be determined. */
export function schemaAt(schema: AnySchema, segments: readonly PropertyKey[]): AnySchema | undefined {
  let current: AnySchema | undefined = schema;
  for (const segment of segments) {
    if (current === undefined) return undefined;
    current = childSchema(unwrapSchema(current), segment);
  }
  return current;
}

function childSchema(schema: AnySchema, segment: PropertyKey): AnySchema | undefined {
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      return typeof segment === 'string' && Object.hasOwn(def.shape, segment) ? def.shape[segment] : undefined;
    case 'array':
      return def.element;
    case 'record':
      return def.valueType;
    case 'tuple':
      return typeof segment === 'number' ? (def.items[segment] ?? def.rest ?? undefined) : undefined;
    default:
      return undefined;
  }
}

/** The keys an object schema accepts, in declaration order; empty when `schema` is not an object. */
export function objectKeys(schema: AnySchema): string[] {
  const def = defOf(unwrapSchema(schema));
  return def.type === 'object' ? Object.keys(def.shape) : [];
}

export interface NumberBounds {
  integer: boolean;
  min?: { value: number; inclusive: boolean };
  max?: { value: number; inclusive: boolean };
}

/** Integer-ness and explicit bounds of a number schema, read from its checks. */
export function numberBounds(schema: AnySchema): NumberBounds | undefined {
  const core = unwrapSchema(schema);
  const def = defOf(core);
  if (def.type !== 'number') return undefined;
  const bounds: NumberBounds = { integer: isIntegerFormat((def as { format?: unknown }).format) };
  for (const check of def.checks ?? []) {
    const checkDef = check._zod.def as z.core.$ZodCheckDef & { value?: unknown; inclusive?: boolean; format?: unknown };
    if (checkDef.check === 'number_format') bounds.integer ||= isIntegerFormat(checkDef.format);
    if (typeof checkDef.value !== 'number') continue;
    const bound = { value: checkDef.value, inclusive: checkDef.inclusive ?? true };
    if (checkDef.check === 'greater_than') bounds.min = bound;
    if (checkDef.check === 'less_than') bounds.max = bound;
  }
  return bounds;
}

function isIntegerFormat(format: unknown): boolean {
  return typeof format === 'string' && /int/.test(format);
}

/** "an integer from 0 to 65535", "an integer of at least 4096", "a number". */
export function describeNumber(bounds: NumberBounds): string {
  const noun = bounds.integer ? 'an integer' : 'a number';
  const { min, max } = bounds;
  if (min?.inclusive && max?.inclusive) return `${noun} from ${min.value} to ${max.value}`;
  const parts: string[] = [];
  if (min) parts.push(min.inclusive ? `at least ${min.value}` : `greater than ${min.value}`);
  if (max) parts.push(max.inclusive ? `at most ${max.value}` : `less than ${max.value}`);
  return parts.length === 0 ? noun : `${noun} of ${parts.join(' and ')}`;
}

/** What a schema accepts, phrased for someone editing YAML; undefined when it cannot be said simply. */
export function describeExpected(schema: AnySchema): string | undefined {
  const core = unwrapSchema(schema);
  const def = defOf(core);
  switch (def.type) {
    case 'string':
      return 'a string';
    case 'number':
      return describeNumber(numberBounds(core)!);
    case 'boolean':
      return 'true or false';
    case 'enum':
      return oneOf(Object.values(def.entries));
    case 'literal':
      return oneOf(def.values);
    case 'array':
    case 'tuple':
    case 'set':
      return 'a list';
    case 'object':
    case 'record':
    case 'map':
      return 'a mapping';
    case 'null':
      return 'null';
    case 'union': {
      const options = def.options.map((option) => describeExpected(option));
      return options.every((o) => o !== undefined) ? options.join(' or ') : undefined;
    }
    default:
      return undefined;
  }
}

function oneOf(values: readonly unknown[]): string {
  const shown = values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v)));
  return shown.length === 1 ? shown[0]! : `one of ${shown.join(', ')}`;
}

// ---------------------------------------------------------------------------
// Issue formatting.

const EXPECTED_NAMES: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
  array: 'a list',
  tuple: 'a list',
  set: 'a list',
  null: 'null',
};

function hasInput(issue: Issue): boolean {
  return 'input' in issue;
}

/** Appends what was found, unless the message (a custom one) already says it. */
function withGot(text: string, issue: Issue): string {
  if (!hasInput(issue) || /\bgot\b/.test(text)) return text;
  return `${text}, got ${showValue(issue.input)}`;
}

// Zod's built-in messages ("Invalid input", "Invalid string: must match ...") say less than we
// can; a message a schema author wrote for this option says more, so it is kept.
function hasCustomMessage(issue: Issue): boolean {
  const builtIn = z.config().localeError?.(issue as unknown as z.core.$ZodRawIssue);
  const builtInText = typeof builtIn === 'string' ? builtIn : builtIn?.message;
  return issue.message !== builtInText && issue.message !== 'Invalid input';
}

function plural(count: number | bigint, noun: string): string {
  return `${count} ${noun}${count === 1 || count === 1n ? '' : 's'}`;
}

function sizeOf(value: unknown): number | undefined {
  if (Array.isArray(value)) return value.length;
  if (value instanceof Set || value instanceof Map) return value.size;
  return undefined;
}

type SizeIssue = z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig;

function describeSizeIssue(issue: SizeIssue, target: AnySchema | undefined): string {
  const small = issue.code === 'too_small';
  const limit = small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum;
  if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
    const fromSchema = target && numberBounds(target);
    if (fromSchema) return withGot(`expected ${describeNumber(fromSchema)}`, issue);
    const relation = small ? (issue.inclusive ? 'at least' : 'greater than') : issue.inclusive ? 'at most' : 'less than';
    return withGot(`expected a number ${relation} ${limit}`, issue);
  }
  const noun = issue.origin === 'string' ? 'character' : 'item';
  const quantity = issue.exact ? 'exactly' : small ? 'at least' : 'at most';
  const expected = `expected ${quantity} ${plural(limit, noun)}`;
  // A short string is clearest shown as itself; a short list by how many items it has.
  const size = hasInput(issue) && typeof issue.input !== 'string' ? sizeOf(issue.input) : undefined;
  return size === undefined ? withGot(expected, issue) : `${expected}, got ${size}`;
}

function describeValueIssue(issue: z.core.$ZodIssueInvalidValue): string {
  const text = withGot(`expected ${oneOf(issue.values)}`, issue);
  const options = issue.values.filter((v): v is string => typeof v === 'string');
  const guess = typeof issue.input === 'string' ? suggest(issue.input, options) : null;
  return guess === null ? text : `${text}. Did you mean ${JSON.stringify(guess)}?`;
}

function describeFormatIssue(issue: z.core.$ZodIssueInvalidStringFormat): string {
  if (hasCustomMessage(issue)) return withGot(issue.message, issue);
  const pattern = issue.format === 'regex' ? (issue as { pattern?: string }).pattern : undefined;
  const expected = pattern ? `a string matching ${pattern}` : `a valid ${issue.format}`;
  return withGot(`expected ${expected}`, issue);
}

/** One message (without file and path) for an issue other than an unknown key. */
function describeIssue(issue: Issue, target: AnySchema | undefined): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = (target && describeExpected(target)) ?? EXPECTED_NAMES[issue.expected] ?? `a ${issue.expected}`;
      if (hasInput(issue) && issue.input === undefined) return `required option is missing; expected ${expected}`;
      return withGot(`expected ${expected}`, issue);
    }
    case 'too_small':
    case 'too_big':
      return describeSizeIssue(issue, target);
    case 'invalid_value':
      return describeValueIssue(issue);
    case 'invalid_format':
      return describeFormatIssue(issue);
    case 'not_multiple_of':
      return withGot(`expected a multiple of ${issue.divisor}`, issue);
    case 'invalid_union': {
      const expected = target && describeExpected(target);
      return withGot(expected ? `expected ${expected}` : 'does not match any accepted form', issue);
    }
    case 'invalid_key':
    case 'invalid_element': {
      // The nested issues describe the key (or element) itself, with the same path.
      const inner = issue.issues.map((nested) => describeIssue(nested, undefined));
      return inner.length > 0 ? inner.join('; ') : withGot('invalid key', issue);
    }
    case 'custom':
      return withGot(hasCustomMessage(issue) ? issue.message : 'invalid value', issue);
    default:
      return withGot((issue as Issue).message, issue as Issue);
  }
}

function unknownKeyMessage(key: string, validKeys: readonly string[]): string {
  if (validKeys.length === 0) return 'unknown option';
  const guess = suggest(key, validKeys);
  const hint = guess === null ? '' : ` Did you mean ${JSON.stringify(guess)}?`;
  return `unknown option.${hint} Options: ${validKeys.join(', ')}`;
}

/**
 * One line per problem in `error`, each prefixed with the file and the dotted path
 * (`pathPrefix` + the issue's path). Pass the schema that produced the error so messages can
 * state bounds and suggest valid keys; parse with `{ reportInput: true }` so they can show the
 * value found.
 */
export function formatZodError(
  file: string | null,
  pathPrefix: readonly string[],
  error: z.core.$ZodError,
  schema?: AnySchema,
): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const issuePath = issue.path as PropertyKey[];
    const fullPath = [...pathPrefix, ...issuePath];
    const target = schema && schemaAt(schema, issuePath);
    if (issue.code === 'unrecognized_keys') {
      const validKeys = target ? objectKeys(target) : [];
      for (const key of issue.keys) lines.push(problemLine(file, [...fullPath, key], unknownKeyMessage(key, validKeys)));
    } else {
      lines.push(problemLine(file, fullPath, describeIssue(issue, target)));
    }
  }
  return lines;
}

/**
 * Validates one section of the configuration (a module's options, say) against its own schema,
 * throwing a ConfigError with every problem. An empty or missing section (`archive:` with nothing
 * under it) counts as an empty mapping for object schemas, so their field defaults apply.
 */
export function validateSection<T extends z.core.$ZodType>(
  file: string | null,
  sectionPath: readonly string[],
  schema: T,
  value: unknown,
): z.output<T> {
  const isObject = defOf(schema).type === 'object';
  const input = value === null || value === undefined ? (isObject ? {} : undefined) : value;
  const result = z.safeParse(schema, input, { reportInput: true });
  if (!result.success) throw new ConfigError(formatZodError(file, sectionPath, result.error, schema));
  return result.data;
}
