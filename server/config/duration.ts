import { z } from 'zod';
import { showValue } from './errors.js';

// Durations are written for people ("30s", "10m", "1h30m") and used by code in
// milliseconds, so the schema converts once at load time and nothing else has to.

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60 * 1000,
  h: 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  w: 7 * 24 * 60 * 60 * 1000,
  y: 365 * 24 * 60 * 60 * 1000,
};

// "ms" must come before "m" so "500ms" is not read as 500 minutes followed by "s".
const PART = '(\\d+(?:\\.\\d+)?)(ms|s|m|h|d|w|y)';
const PLAIN_NUMBER = /^\d+(?:\.\d+)?$/;

/** Marks duration schemas so the docs generator can call them "duration" rather than "any". */
export const DURATION_META = { valueKind: 'duration' } as const;

export function durationMessage(value: unknown): string {
  return `expected a duration like "30s", "5m", "7d", got ${showValue(value)}`;
}

/**
 * Milliseconds for a duration: a number counts seconds (as in YAML `timeout: 30`),
 * a string is one or more number+unit parts ("500ms", "2h", "1h30m"). Throws on anything else.
 */
export function parseDuration(input: string | number): number {
  const ms = toMilliseconds(input);
  if (ms === null) throw new RangeError(durationMessage(input));
  return ms;
}

function toMilliseconds(input: unknown): number | null {
  if (typeof input === 'number') return secondsToMs(input);
  if (typeof input !== 'string') return null;
  const text = input.trim();
  if (PLAIN_NUMBER.test(text)) return secondsToMs(Number(text));
  return sumParts(text);
}

function secondsToMs(seconds: number): number | null {
  if (!Number.isFinite(seconds) || seconds < 0) return null;
  return Math.round(seconds * 1000);
}

function sumParts(text: string): number | null {
  if (text === '') return null;
  // Sticky matching walks the string part by part, so any stray character fails the parse.
  const part = new RegExp(PART, 'y');
  let total = 0;
  while (part.lastIndex < text.length) {
    const match = part.exec(text);
    if (!match) return null;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  return Math.round(total);
}

/**
 * A zod schema for a duration option: accepts seconds or a unit string and outputs milliseconds.
 * The default is given in the readable form so the generated docs show "30s", not 30000.
 */
export function duration(defaultValue?: string) {
  const schema = z
    .unknown()
    .transform((value, ctx): number => {
      const ms = toMilliseconds(value);
      if (ms !== null) return ms;
      ctx.issues.push({ code: 'custom', message: durationMessage(value), input: value });
      return z.NEVER;
    })
    .meta(DURATION_META);
  if (defaultValue === undefined) return schema;
  // Fail at start-up of the program, not of the first config load, if a default is mistyped.
  parseDuration(defaultValue);
  return schema.prefault(defaultValue);
}
