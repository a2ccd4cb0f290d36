/**
 * XMPP addresses (JIDs) as defined by RFC 7622.
 *
 * A JID is `[ localpart "@" ] domainpart [ "/" resourcepart ]`. Every part is
 * prepared (normalised) when the JID is built, so two JIDs that denote the same
 * entity compare equal as plain strings:
 *
 * - localpart: PRECIS UsernameCaseMapped profile (RFC 8265 §3.3) plus the
 *   characters RFC 7622 §3.3.1 forbids;
 * - domainpart: lower-cased, NFC, IDNA2008 checked, kept in U-label form
 *   (RFC 7622 §3.2);
 * - resourcepart: PRECIS OpaqueString profile (RFC 8265 §4.2, RFC 7622 §3.4).
 *
 * Each part is 1..1023 bytes of UTF-8 after preparation (RFC 7622 §3.2, §3.3,
 * §3.4).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';

/** Thrown for a string that is not a valid JID; the message says why. */
export class JidError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JidError';
  }
}

/** RFC 7622 §3.2, §3.3, §3.4: each part is at most 1023 octets. */
const MAX_PART_BYTES = 1023;

/**
 * Cheap guard applied before any Unicode work so that a hostile megabyte-long
 * `to` attribute is refused without normalising it. The profile mappings never
 * shrink text to less than a quarter of its UTF-16 length, so this never
 * rejects a string that would fit in 1023 bytes after preparation.
 */
const MAX_RAW_CODE_UNITS = 4 * MAX_PART_BYTES;

/** The router parses `to` on every stanza: remember recent results. */
const CACHE_LIMIT = 10_000;
const cache = new Map<string, Jid>();

/** An immutable, prepared XMPP address. Instances may be shared freely. */
export class Jid {
  /** Prepared localpart, '' when absent. */
  readonly local: string;
  /** Prepared domainpart (U-label form for internationalised names). */
  readonly domain: string;
  /** Prepared resourcepart, '' when absent. */
  readonly resource: string;

  #bare: string | undefined;
  #full: string | undefined;
  #bareJid: Jid | undefined;

  private constructor(local: string, domain: string, resource: string) {
    this.local = local;
    this.domain = domain;
    this.resource = resource;
  }

  /** Parses and prepares a JID string; throws JidError when it is invalid. */
  static parse(s: string): Jid {
    const cached = cache.get(s);
    if (cached !== undefined) return cached;
    const parts = splitJid(s);
    const jid = new Jid(
      parts.local === null ? '' : prepareLocalpart(parts.local),
      prepareDomainpart(parts.domain),
      parts.resource === null ? '' : prepareResourcepart(parts.resource),
    );
    remember(s, jid);
    return jid;
  }

  /** Like parse, but returns null instead of throwing. */
  static tryParse(s: string): Jid | null {
    try {
      return Jid.parse(s);
    } catch (err) {
      if (err instanceof JidError) return null;
      throw err;
    }
  }

  /**
   * Builds a JID from separate parts, preparing each one. An empty `local`
   * or an empty/absent `resource` means the part is absent.
   */
  static of(local: string, domain: string, resource?: string): Jid {
    return new Jid(
      local === '' ? '' : prepareLocalpart(local),
      prepareDomainpart(domain),
      resource === undefined || resource === '' ? '' : prepareResourcepart(resource),
    );
  }

  /** 'local@domain', or 'domain' when there is no localpart. */
  get bare(): string {
    this.#bare ??= this.local === '' ? this.domain : `${this.local}@${this.domain}`;
    return this.#bare;
  }

  /** The bare form plus '/resource' when a resource is present. */
  get full(): string {
    this.#full ??= this.resource === '' ? this.bare : `${this.bare}/${this.resource}`;
    return this.#full;
  }

  /** True when there is no resourcepart. */
  get isBare(): boolean {
    return this.resource === '';
  }

  /** True for a plain domain JID such as 'example.com' (no localpart, no resource). */
  get isDomain(): boolean {
    return this.local === '' && this.resource === '';
  }

  toString(): string {
    return this.full;
  }

  /** Serialises as the full JID string (for JSON logs and APIs). */
  toJSON(): string {
    return this.full;
  }

  /** This JID without its resourcepart (itself when already bare). */
  bareJid(): Jid {
    if (this.isBare) return this;
    this.#bareJid ??= new Jid(this.local, this.domain, '');
    return this.#bareJid;
  }

  /** The same bare JID with another resourcepart; throws JidError if it is invalid. */
  withResource(resource: string): Jid {
    return new Jid(this.local, this.domain, prepareResourcepart(resource));
  }

  /** Parts are prepared on construction, so equality is string equality. */
  equals(other: Jid): boolean {
    return (
      this === other ||
      (this.local === other.local && this.domain === other.domain && this.resource === other.resource)
    );
  }
}

/** Current size and limit of the parse cache (for metrics and tests). */
export function jidCacheStats(): { size: number; limit: number } {
  return { size: cache.size, limit: CACHE_LIMIT };
}

function remember(key: string, jid: Jid): void {
  // Clearing everything when full is crude but O(1) amortised and keeps the
  // memory bound; the hot JIDs are back in the cache within a few stanzas.
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, jid);
}

// ---------------------------------------------------------------------------
// Splitting (RFC 7622 §3.1)
// ---------------------------------------------------------------------------

interface RawParts {
  local: string | null;
  domain: string;
  resource: string | null;
}

/**
 * RFC 7622 §3.1: the resourcepart is everything after the first '/', so it may
 * itself contain '/' and '@'; the localpart is everything before the first '@'
 * of what remains. ('@' is forbidden in both the localpart and the domainpart,
 * so a second '@' is rejected whichever side it lands on.)
 */
function splitJid(s: string): RawParts {
  if (typeof s !== 'string') throw new JidError('JID must be a string');
  if (s === '') throw new JidError('JID is empty');
  const slash = s.indexOf('/');
  const head = slash === -1 ? s : s.slice(0, slash);
  const resource = slash === -1 ? null : s.slice(slash + 1);
  const at = head.indexOf('@');
  return {
    local: at === -1 ? null : head.slice(0, at),
    domain: at === -1 ? head : head.slice(at + 1),
    resource,
  };
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

const encoder = new TextEncoder();

function utf8Length(s: string): number {
  // For ASCII the byte length is the string length; avoid encoding.
  return PRINTABLE_ASCII.test(s) ? s.length : encoder.encode(s).length;
}

function checkRawLength(part: string, raw: string): void {
  if (raw === '') throw new JidError(`${part} is empty`);
  if (raw.length > MAX_RAW_CODE_UNITS) throw new JidError(`${part} longer than ${MAX_PART_BYTES} bytes`);
}

function checkPreparedLength(part: string, prepared: string): void {
  if (utf8Length(prepared) > MAX_PART_BYTES) throw new JidError(`${part} longer than ${MAX_PART_BYTES} bytes`);
}

/** Space through tilde: the common, fast case for every part. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

const VISIBLE = /^[\p{L}\p{N}\p{P}\p{S}]$/u;

function describeCodePoint(cp: number): string {
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  const ch = String.fromCodePoint(cp);
  // Show the character itself only when it is visible on its own.
  return VISIBLE.test(ch) ? `U+${hex} '${ch}'` : `U+${hex}`;
}

/**
 * RFC 8264 §9.2: fullwidth and halfwidth characters are mapped to their
 * decomposition mapping. Only code points with a <wide> or <narrow>
 * decomposition are touched (U+3000, U+20A9 and the Halfwidth and Fullwidth
 * Forms block), so this is NFKC restricted to width characters.
 */
const WIDTH_CHARACTERS = /[\u3000\u20a9\uff01-\uffee]/g;

function mapWidth(s: string): string {
  return s.replace(WIDTH_CHARACTERS, (ch) => ch.normalize('NFKC'));
}

/** RFC 8264 §9.17 HasCompat: the code point has a compatibility equivalent. */
function hasCompat(ch: string): boolean {
  return ch.normalize('NFKC') !== ch;
}

/** RFC 5892 §2.9 OldHangulJamo (Hangul_Syllable_Type L, V or T): disallowed in all PRECIS classes. */
function isOldHangulJamo(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x11ff) ||
    (cp >= 0xa960 && cp <= 0xa97c) ||
    (cp >= 0xd7b0 && cp <= 0xd7c6) ||
    (cp >= 0xd7cb && cp <= 0xd7fb)
  );
}

/** RFC 8264 §9.13 PrecisIgnorableProperties: disallowed in all PRECIS classes. */
const PRECIS_IGNORABLE = /^[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]$/u;

/** RFC 5892 §2.6 Exceptions that are DISALLOWED despite their general category. */
const EXCEPTION_DISALLOWED = new Set([0x0640, 0x07fa, 0x302e, 0x302f, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303b]);

/** RFC 5892 §2.6 Exceptions that are PVALID although not letters or digits. */
const EXCEPTION_PVALID = new Set([0x06fd, 0x06fe, 0x0f0b, 0x3007]);

/** RFC 5892 §2.6 / Appendix A: CONTEXTO code points, valid only in context. */
const CONTEXTO = new Set([0x00b7, 0x0375, 0x05f3, 0x05f4, 0x30fb]);

const ARABIC_INDIC_DIGIT = /[\u0660-\u0669]/u;
const EXTENDED_ARABIC_INDIC_DIGIT = /[\u06f0-\u06f9]/u;

/**
 * RFC 5892 Appendix A.3-A.9: the CONTEXTO rules. Returns a reason when the
 * code point at `index` of `cps` is not in an allowed context.
 */
function contextoViolation(cps: readonly number[], index: number): string | null {
  const cp = cps[index]!;
  const before = index > 0 ? String.fromCodePoint(cps[index - 1]!) : '';
  const after = index + 1 < cps.length ? String.fromCodePoint(cps[index + 1]!) : '';
  switch (cp) {
    case 0x00b7: // MIDDLE DOT: only between two 'l' (Catalan "l·l"), A.3
      return before === 'l' && after === 'l' ? null : 'U+00B7 is only allowed between two "l"';
    case 0x0375: // GREEK LOWER NUMERAL SIGN: followed by Greek, A.4
      return /\p{Script=Greek}/u.test(after) ? null : 'U+0375 must be followed by a Greek character';
    case 0x05f3: // HEBREW PUNCTUATION GERESH, A.5
    case 0x05f4: // HEBREW PUNCTUATION GERSHAYIM, A.6
      return /\p{Script=Hebrew}/u.test(before) ? null : `${describeCodePoint(cp)} must follow a Hebrew character`;
    case 0x30fb: {
      // KATAKANA MIDDLE DOT: the string must contain Hiragana, Katakana or Han, A.7
      const text = String.fromCodePoint(...cps);
      return /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u.test(text.replaceAll('\u30fb', ''))
        ? null
        : 'U+30FB needs a Hiragana, Katakana or Han character in the same part';
    }
    default:
      return null;
  }
}

/** RFC 5892 Appendix A.8/A.9: the two sets of Arabic-Indic digits must not be mixed. */
function checkArabicDigits(part: string, s: string): void {
  if (ARABIC_INDIC_DIGIT.test(s) && EXTENDED_ARABIC_INDIC_DIGIT.test(s)) {
    throw new JidError(`${part} mixes Arabic-Indic and Extended Arabic-Indic digits`);
  }
}

function codePoints(s: string): number[] {
  const cps: number[] = [];
  for (const ch of s) cps.push(ch.codePointAt(0)!);
  return cps;
}

// ---------------------------------------------------------------------------
// Localpart (RFC 7622 §3.3, RFC 8265 §3.3 UsernameCaseMapped)
// ---------------------------------------------------------------------------

/** RFC 7622 §3.3.1: disallowed in localparts in addition to the PRECIS rules. */
const LOCALPART_FORBIDDEN = new Set(['"', '&', "'", '/', ':', '<', '>', '@']);

/** RFC 5892 §2.1 LetterDigits: the only non-ASCII PVALID categories of the IdentifierClass. */
const LETTER_DIGIT = /^[\p{Ll}\p{Lu}\p{Lo}\p{Lm}\p{Nd}\p{Mn}\p{Mc}]$/u;

/**
 * Prepares and enforces a localpart (RFC 8265 §3.3.1 order: width mapping,
 * case mapping, NFC, then the IdentifierClass check of RFC 8264 §4.2).
 *
 * Case mapping uses String.prototype.toLowerCase, which is what RFC 8265
 * §3.3.1 specifies ("Unicode toLowerCase()"), not case folding: RFC 7613's
 * case folding would map 'ß' to 'ss', whereas RFC 7622 §3.5 treats
 * fußball@example.com and fussball@example.com as distinct. JavaScript's
 * toLowerCase is locale-independent and applies the Final_Sigma context, as
 * the Unicode operation does.
 *
 * The Bidi Rule (RFC 5893) that RFC 8265 also asks for is not enforced:
 * JavaScript exposes no Bidi_Class property to check it against.
 */
export function prepareLocalpart(raw: string): string {
  checkRawLength('localpart', raw);
  const prepared = PRINTABLE_ASCII.test(raw) ? raw.toLowerCase() : mapWidth(raw).toLowerCase().normalize('NFC');
  checkIdentifierClass(prepared);
  checkPreparedLength('localpart', prepared);
  return prepared;
}

function checkIdentifierClass(s: string): void {
  const cps = codePoints(s);
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i]!;
    const reason = identifierClassViolation(cps, i);
    if (reason !== null) throw new JidError(`localpart contains ${describeCodePoint(cp)}: ${reason}`);
  }
  checkArabicDigits('localpart', s);
}

function identifierClassViolation(cps: readonly number[], index: number): string | null {
  const cp = cps[index]!;
  if (cp < 0x80) {
    // ASCII7 (RFC 8264 §9.11): '!' to '~' is valid; space and controls are not.
    if (cp <= 0x20 || cp === 0x7f) return 'spaces and control characters are not allowed (RFC 8264 §4.2)';
    const ch = String.fromCharCode(cp);
    return LOCALPART_FORBIDDEN.has(ch) ? 'character forbidden in localparts (RFC 7622 §3.3.1)' : null;
  }
  if (CONTEXTO.has(cp)) return contextoViolation(cps, index);
  if (EXCEPTION_PVALID.has(cp)) return null;
  if (EXCEPTION_DISALLOWED.has(cp)) return 'disallowed by RFC 5892 §2.6';
  const ch = String.fromCodePoint(cp);
  if (!LETTER_DIGIT.test(ch)) {
    return 'only letters, digits and ASCII punctuation are allowed (IdentifierClass, RFC 8264 §4.2)';
  }
  if (PRECIS_IGNORABLE.test(ch)) return 'default-ignorable code points are not allowed (RFC 8264 §9.13)';
  if (isOldHangulJamo(cp)) return 'conjoining Hangul jamo are not allowed (RFC 8264 §9.10)';
  if (hasCompat(ch)) return 'characters with compatibility equivalents are not allowed (RFC 8264 §9.17)';
  return null;
}

// ---------------------------------------------------------------------------
// Resourcepart (RFC 7622 §3.4, RFC 8265 §4.2 OpaqueString)
// ---------------------------------------------------------------------------

/** RFC 8264 §4.3 FreeformClass valid categories (letters, marks, numbers, punctuation, symbols, spaces). */
const FREEFORM = /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]$/u;

/** RFC 8265 §4.2.1: non-ASCII spaces are mapped to U+0020. */
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/g;

/**
 * Prepares and enforces a resourcepart with the OpaqueString profile: map
 * non-ASCII spaces to U+0020, NFC, then the FreeformClass check. No case or
 * width mapping: resources are compared exactly.
 *
 * Spaces are allowed anywhere, including at the start: OpaqueString has no
 * rule against leading spaces. RFC 7622 §3.5.2 lists "juliet@example.com/ foo"
 * as invalid, but the note it gives contradicts the profile it cites, and the
 * example has been reported as an erratum to RFC 7622; we follow the profile.
 */
export function prepareResourcepart(raw: string): string {
  checkRawLength('resourcepart', raw);
  if (PRINTABLE_ASCII.test(raw)) return raw; // U+0020..U+007E are all valid and already normalised
  const prepared = raw.replace(NON_ASCII_SPACE, ' ').normalize('NFC');
  checkFreeformClass(prepared);
  checkPreparedLength('resourcepart', prepared);
  return prepared;
}

function checkFreeformClass(s: string): void {
  const cps = codePoints(s);
  for (let i = 0; i < cps.length; i++) {
    const reason = freeformClassViolation(cps, i);
    if (reason !== null) throw new JidError(`resourcepart contains ${describeCodePoint(cps[i]!)}: ${reason}`);
  }
  checkArabicDigits('resourcepart', s);
}

function freeformClassViolation(cps: readonly number[], index: number): string | null {
  const cp = cps[index]!;
  if (cp < 0x80) {
    return cp < 0x20 || cp === 0x7f ? 'control characters are not allowed (RFC 8264 §9.12)' : null;
  }
  if (CONTEXTO.has(cp)) return contextoViolation(cps, index);
  if (EXCEPTION_PVALID.has(cp)) return null;
  if (EXCEPTION_DISALLOWED.has(cp)) return 'disallowed by RFC 5892 §2.6';
  const ch = String.fromCodePoint(cp);
  // Controls (Cc), format characters (Cf), private use (Co), lone surrogates
  // (Cs), unassigned code points (Cn) and line/paragraph separators fall
  // outside the FreeformClass categories.
  if (!FREEFORM.test(ch)) return 'control, format, private-use or unassigned code point (FreeformClass, RFC 8264 §4.3)';
  // ZWJ/ZWNJ (CONTEXTJ) are default-ignorable and rejected here: their
  // contextual rule needs combining-class data JavaScript does not expose.
  if (PRECIS_IGNORABLE.test(ch)) return 'default-ignorable code points are not allowed (RFC 8264 §9.13)';
  if (isOldHangulJamo(cp)) return 'conjoining Hangul jamo are not allowed (RFC 8264 §9.10)';
  return null;
}

// ---------------------------------------------------------------------------
// Domainpart (RFC 7622 §3.2)
// ---------------------------------------------------------------------------

/** IDNA2008 label separators (RFC 3490 §3.1, kept by RFC 5895 §2): full stop and its wide forms. */
const LABEL_SEPARATORS = /[\u3002\uff0e\uff61]/g;
const TRAILING_SEPARATOR = /[.\u3002\uff0e\uff61]$/;

/** RFC 5890 §2.3.1 NR-LDH label: letters, digits, hyphens; no hyphen at either end. */
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Non-ASCII code points allowed in U-labels: letters, marks and decimal digits (RFC 5892 §2.1). */
const U_LABEL_CHAR = /^[\p{Ll}\p{Lo}\p{Lm}\p{Nd}\p{Mn}\p{Mc}]$/u;

const MAX_LABEL_BYTES = 63;

/**
 * Prepares and enforces a domainpart: IP literals and IPv4 addresses are
 * accepted as they are (IPv6 in canonical form); names have one trailing dot
 * stripped, are width-mapped, lower-cased and NFC-normalised (RFC 7622
 * §3.2.2), and every label must be an NR-LDH label or an IDNA2008 U-label.
 * A-labels ("xn--...") are converted to U-labels, which RFC 7622 §3.2.1 makes
 * the canonical form; url.domainToASCII is used to validate U-labels.
 */
export function prepareDomainpart(raw: string): string {
  checkRawLength('domainpart', raw);
  if (raw.startsWith('[')) return prepareIpLiteral(raw);
  // RFC 7622 §3.2: a final label separator MUST be stripped before anything else.
  const name = raw.replace(TRAILING_SEPARATOR, '');
  if (name === '') throw new JidError('domainpart is empty');
  if (isIPv4(name)) return name;
  const prepared = PRINTABLE_ASCII.test(name) ? prepareAsciiDomain(name.toLowerCase()) : prepareUnicodeDomain(name);
  checkPreparedLength('domainpart', prepared);
  return prepared;
}

/** RFC 7622 §3.2 allows IP-literal from RFC 3986 §3.2.2; we accept IPv6 addresses. */
function prepareIpLiteral(raw: string): string {
  const inner = raw.endsWith(']') ? raw.slice(1, -1) : '';
  if (!isIPv6(inner) || inner.includes('%')) throw new JidError(`domainpart ${JSON.stringify(raw)} is not a valid IPv6 literal`);
  // The WHATWG serialiser yields the RFC 5952 canonical text form, so that
  // [2001:DB8:0::1] and [2001:db8::1] are the same JID.
  return new URL(`http://${raw}/`).hostname;
}

function prepareAsciiDomain(name: string): string {
  if (/^[0-9.]+$/.test(name)) throw new JidError(`domainpart ${JSON.stringify(name)} is not a valid IPv4 address`);
  const labels = name.split('.');
  let hasALabel = false;
  for (const label of labels) {
    checkLabelShape(label);
    if (label.startsWith('xn--')) hasALabel = true;
    else checkAsciiLabel(label);
  }
  if (!hasALabel) return name;
  // RFC 7622 §3.2.1: A-labels MUST be converted to U-labels.
  const unicode = labels.map((label) => (label.startsWith('xn--') ? aLabelToULabel(label) : label)).join('.');
  return prepareUnicodeDomain(unicode);
}

function aLabelToULabel(label: string): string {
  const unicode = domainToUnicode(label);
  if (unicode === '' || unicode === label || domainToASCII(unicode) !== label) {
    throw new JidError(`domainpart label ${JSON.stringify(label)} is not a valid A-label`);
  }
  return unicode;
}

function prepareUnicodeDomain(name: string): string {
  const mapped = mapWidth(name).replace(LABEL_SEPARATORS, '.').toLowerCase().normalize('NFC');
  for (const label of mapped.split('.')) {
    checkLabelShape(label);
    if (PRINTABLE_ASCII.test(label)) checkAsciiLabel(label);
    else checkULabelCharacters(label);
  }
  // domainToASCII applies UTS #46 (non-transitional) with the Bidi and joiner
  // checks; it returns '' when the name is not a valid IDN.
  const ascii = domainToASCII(mapped);
  if (ascii === '') throw new JidError(`domainpart ${JSON.stringify(mapped)} is not a valid internationalised domain name`);
  for (const aLabel of ascii.split('.')) {
    // RFC 5890 §2.3.2.1: the 63-octet limit applies to the A-label.
    if (aLabel.length > MAX_LABEL_BYTES) throw new JidError(`domainpart label longer than ${MAX_LABEL_BYTES} bytes`);
  }
  // If UTS #46 had to map anything the input was not a U-label (IDNA2008
  // has no mapping step), so it must round-trip unchanged.
  if (domainToUnicode(ascii) !== mapped) {
    throw new JidError(`domainpart ${JSON.stringify(mapped)} is not in canonical U-label form`);
  }
  return mapped;
}

function checkLabelShape(label: string): void {
  if (label === '') throw new JidError('domainpart contains an empty label');
  if (label.startsWith('-') || label.endsWith('-')) {
    throw new JidError(`domainpart label ${JSON.stringify(label)} starts or ends with a hyphen`);
  }
}

function checkAsciiLabel(label: string): void {
  if (label.length > MAX_LABEL_BYTES) throw new JidError(`domainpart label longer than ${MAX_LABEL_BYTES} bytes`);
  if (!LDH_LABEL.test(label)) {
    throw new JidError(`domainpart label ${JSON.stringify(label)} contains characters not allowed in host names`);
  }
  // RFC 5890 §2.3.1: "??--" labels other than A-labels are reserved.
  if (label.slice(2, 4) === '--') throw new JidError(`domainpart label ${JSON.stringify(label)} is a reserved LDH label`);
}

function checkULabelCharacters(label: string): void {
  const cps = codePoints(label);
  if (/^\p{M}$/u.test(String.fromCodePoint(cps[0]!))) {
    throw new JidError(`domainpart label ${JSON.stringify(label)} starts with a combining mark (RFC 5891 §4.2.3.2)`);
  }
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i]!;
    const reason = uLabelViolation(cps, i);
    if (reason !== null) throw new JidError(`domainpart contains ${describeCodePoint(cp)}: ${reason}`);
  }
  checkArabicDigits('domainpart', label);
}

function uLabelViolation(cps: readonly number[], index: number): string | null {
  const cp = cps[index]!;
  if (cp < 0x80) {
    const ch = String.fromCharCode(cp);
    return /[a-z0-9-]/.test(ch) ? null : 'character not allowed in host names';
  }
  if (CONTEXTO.has(cp)) return contextoViolation(cps, index);
  if (EXCEPTION_PVALID.has(cp)) return null;
  if (EXCEPTION_DISALLOWED.has(cp)) return 'disallowed by RFC 5892 §2.6';
  const ch = String.fromCodePoint(cp);
  if (!U_LABEL_CHAR.test(ch)) return 'only letters, digits and marks are allowed in U-labels (RFC 5892 §2.1)';
  if (PRECIS_IGNORABLE.test(ch) || isOldHangulJamo(cp) || hasCompat(ch)) {
    return 'not PVALID under IDNA2008 (RFC 5892 §2)';
  }
  return null;
}
