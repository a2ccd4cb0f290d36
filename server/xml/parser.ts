/**
 * The server's restricted, streaming XML parser (RFC 6120 §11).
 *
 * XMPP uses a restricted subset of XML 1.0: no comments, no processing
 * instructions other than the initial XML declaration, no DTDs and no entity
 * references other than the five predefined ones (RFC 6120 §11.1); UTF-8 only
 * (§11.6); and every stream must be namespace-well-formed (§11.2, §11.3). The
 * client parsers we depend on (ltx, @xmpp/xml) silently skip the forbidden
 * constructs and have no resource limits, so the server parses with this one.
 *
 * Design:
 * - A hand-written state machine over the decoded string. Each call to
 *   `write()` resumes where the previous one stopped; a token cut by a chunk
 *   boundary is carried as a string slice, never re-scanned.
 * - Text and attribute values are sliced from the chunk between special
 *   characters, not built character by character.
 * - Elements are built as `@xmpp/xml` (ltx) `Element`s while parsing, so a
 *   stanza is ready the moment its end tag arrives.
 * - Every byte of an unfinished stanza or stream header counts against a
 *   limit, and the scanner never runs past the point where the limit could
 *   be crossed: an oversized stanza is refused at the very byte that crosses
 *   it, without waiting for its end tag (RFC 6120 §13.12).
 * - The events, errors included, do not depend on how the input was cut
 *   into chunks.
 *
 * Stricter than some servers, as XML 1.0 requires: the XML declaration must
 * be the very first thing in the stream (or WebSocket message), and a
 * WebSocket message must hold complete elements only.
 */
import { isAscii } from 'node:buffer';
import { Element } from '@xmpp/xml';

export type StreamErrorCondition =
  | 'not-well-formed'
  | 'restricted-xml'
  | 'policy-violation'
  | 'invalid-namespace'
  | 'bad-format'
  | 'unsupported-encoding';

export interface ParserLimits {
  /** Bytes of one top-level element (stanza), counted in UTF-8 bytes of the input; default 262144. */
  maxStanzaBytes: number;
  /** Nesting depth inside a stanza (the stanza itself is depth 1); default 64. */
  maxDepth: number;
  /** Bytes of the stream header / anything before the first stanza; default 8192. */
  maxHeaderBytes?: number;
}

export interface ParserHandlers {
  /** The stream root's start tag is complete (stream mode only). */
  streamOpen(name: string, attrs: Record<string, string>): void;
  /** One complete, detached top-level element. */
  element(el: Element): void;
  /** The stream root's end tag (stream mode only). */
  streamClose(): void;
  /** Called once; the parser then ignores input until `reset()`. */
  error(condition: StreamErrorCondition, text: string): void;
}

/**
 * 'stream': a TCP/TLS stream with a `<stream:stream>` root (RFC 6120 §4).
 * 'framed': WebSocket messages, each a sequence of complete top-level
 * elements (RFC 7395 §3.3).
 */
export type ParserMode = 'stream' | 'framed';

export const DEFAULT_PARSER_LIMITS: Readonly<Required<ParserLimits>> = Object.freeze({
  maxStanzaBytes: 262144,
  maxDepth: 64,
  maxHeaderBytes: 8192,
});

/** Namespace of the stream root and of `stream:` elements (RFC 6120 §4.8.1). */
export const STREAMS_NS = 'http://etherx.jabber.org/streams';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/**
 * Input is parsed in windows of at most this many bytes (or UTF-16 code units
 * for string input) so that a single huge `write()` is refused as soon as the
 * limit check at the end of a window sees it, not after it has all been parsed.
 */
const WINDOW = 65536;

// Tokenizer states.
const S_TEXT = 0;
const S_TAG_OPEN = 1;
const S_START_NAME = 2;
const S_IN_TAG = 3;
const S_ATTR_NAME = 4;
const S_ATTR_EQ = 5;
const S_ATTR_QUOTE = 6;
const S_ATTR_VALUE = 7;
const S_SELF_CLOSE = 8;
const S_END_NAME = 9;
const S_END_SPACE = 10;
const S_ENTITY = 11;
const S_CHARREF = 12;
const S_CHARREF_DIGITS = 13;
const S_ENTITY_NAME = 14;
const S_BANG = 15;
const S_CDATA = 16;
const S_PI = 17;
const S_FAILED = 18;

// Where we are in the stream: before the root (or, framed, before the first
// element of the frame), inside it, or after its end tag.
const P_PROLOG = 0;
const P_BODY = 1;
const P_EPILOG = 2;

// Character codes.
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const BANG = 0x21;
const QUOT = 0x22;
const HASH = 0x23;
const AMP = 0x26;
const APOS = 0x27;
const SLASH = 0x2f;
const SEMICOLON = 0x3b;
const LT = 0x3c;
const EQUALS = 0x3d;
const GT = 0x3e;
const QUESTION = 0x3f;
const RBRACKET = 0x5d;
const LOWER_X = 0x78;
const BOM = 0xfeff;

// Classes of ASCII characters, as bit flags in CLASS.
const C_NAME_START = 1; // XML 1.0 NameStartChar
const C_NAME = 2; // XML 1.0 NameChar
const C_TEXT = 4; // needs no attention in character data
const C_ATTR = 8; // needs no attention in an attribute value

const CLASS = buildAsciiClasses();

function buildAsciiClasses(): Uint8Array {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    let bits = 0;
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (letter || c === 0x5f /* _ */ || c === 0x3a /* : */) bits |= C_NAME_START | C_NAME;
    if ((c >= 0x30 && c <= 0x39) || c === 0x2d /* - */ || c === 0x2e /* . */) bits |= C_NAME;
    // '>' is special in text only because ']]>' is forbidden there (XML 1.0 §2.4).
    if (c === TAB || c === LF || (c >= SPACE && c !== LT && c !== AMP && c !== GT)) bits |= C_TEXT;
    // Tab, LF and CR are special in attribute values: they are normalised (XML 1.0 §3.3.3).
    if (c >= SPACE && c !== LT && c !== AMP && c !== QUOT && c !== APOS) bits |= C_ATTR;
    table[c] = bits;
  }
  return table;
}

function isSpace(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

/** XML 1.0 (5th ed.) NameStartChar outside ASCII, for BMP code units. */
function isWideNameStart(c: number): boolean {
  return (
    (c >= 0xc0 && c <= 0xd6) ||
    (c >= 0xd8 && c <= 0xf6) ||
    (c >= 0xf8 && c <= 0x2ff) ||
    (c >= 0x370 && c <= 0x37d) ||
    (c >= 0x37f && c <= 0x1fff) ||
    c === 0x200c ||
    c === 0x200d ||
    (c >= 0x2070 && c <= 0x218f) ||
    (c >= 0x2c00 && c <= 0x2fef) ||
    (c >= 0x3001 && c <= 0xd7ff) ||
    (c >= 0xf900 && c <= 0xfdcf) ||
    (c >= 0xfdf0 && c <= 0xfffd)
  );
}

/**
 * Width in code units of the non-ASCII name character at `i` (`c` is its
 * first code unit), or 0 when it is not a NameChar (NameStartChar when
 * `start`). Supplementary characters U+10000–U+EFFFF are name characters.
 */
function wideNameWidth(s: string, i: number, c: number, start: boolean): number {
  if (c >= 0xd800 && c <= 0xdb7f) {
    const low = s.charCodeAt(i + 1);
    return low >= 0xdc00 && low <= 0xdfff ? 2 : 0;
  }
  if (isWideNameStart(c)) return 1;
  if (start) return 0;
  return c === 0xb7 || (c >= 0x300 && c <= 0x36f) || c === 0x203f || c === 0x2040 ? 1 : 0;
}

function isNameStartAt(s: string, i: number, c: number): boolean {
  return c < 0x80 ? (CLASS[c] & C_NAME_START) !== 0 : wideNameWidth(s, i, c, true) > 0;
}

/**
 * Width in code units of the non-ASCII character at `i`, or 0 when it is not
 * an XML 1.0 Char (XML 1.0 §2.2): a lone surrogate, U+FFFE or U+FFFF.
 */
function wideCharWidth(s: string, i: number, c: number): number {
  if (c < 0xd800) return 1;
  if (c < 0xdc00) {
    const low = s.charCodeAt(i + 1);
    return low >= 0xdc00 && low <= 0xdfff ? 2 : 0;
  }
  if (c < 0xe000) return 0;
  return c >= 0xfffe ? 0 : 1;
}

/** XML 1.0 §2.2 Char, for code points produced by character references. */
function isXmlChar(cp: number): boolean {
  return (
    cp === TAB ||
    cp === LF ||
    cp === CR ||
    (cp >= SPACE && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/**
 * Number of bytes at the end of `b` that start a UTF-8 sequence without
 * finishing it (0 to 3). `b` is known to be valid UTF-8 so far.
 */
function incompleteUtf8Tail(b: Uint8Array): number {
  const n = b.length;
  for (let k = 1; k <= Math.min(3, n); k++) {
    const byte = b[n - k]!;
    if ((byte & 0xc0) === 0x80) continue;
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > k ? k : 0;
  }
  return 0;
}

/**
 * Index of the first ill-formed or truncated UTF-8 sequence in `b`, or
 * `b.length` (well-formed sequences as in Unicode, Table 3-7). Only used
 * once the decoder has refused a chunk, to parse what came before the fault.
 */
function utf8ValidPrefix(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    // Continuation bytes needed, and the range of the first one.
    let need = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0; // no overlong forms
      if (c === 0xed) hi = 0x9f; // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90; // no overlong forms
      if (c === 0xf4) hi = 0x8f; // nothing above U+10FFFF
    } else {
      return i;
    }
    if (i + need >= n) return i;
    const second = b[i + 1]!;
    if (second < lo || second > hi) return i;
    for (let k = 2; k <= need; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    i += need + 1;
  }
  return n;
}

const NO_BYTES = Buffer.alloc(0);

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** Value of `c` as a digit of a character reference, or -1. */
function digitValue(c: number, hex: boolean): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (!hex) return -1;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** The only entities XMPP allows (RFC 6120 §11.1, XML 1.0 §4.6). */
function predefinedEntity(name: string): string | undefined {
  switch (name) {
    case 'amp':
      return '&';
    case 'lt':
      return '<';
    case 'gt':
      return '>';
    case 'quot':
      return '"';
    case 'apos':
      return "'";
    default:
      return undefined;
  }
}

const NAME_CACHE_SLOTS = 512;
const NAME_CACHE_MAX_LENGTH = 12;
const nameCache: string[] = new Array<string>(NAME_CACHE_SLOTS).fill('');

/**
 * `s.slice(start, end)`, reusing an earlier string with the same content if
 * one is cached. Short names recur in every stanza (to, from, id, type,
 * xmlns, body...); handing out one string for each makes attribute stores
 * and end-tag comparisons cheaper. Only short names are cached: V8 copies
 * them, so the cache never keeps a whole input window alive.
 */
function recurringName(s: string, start: number, end: number): string {
  const length = end - start;
  if (length > NAME_CACHE_MAX_LENGTH || length === 0) return s.slice(start, end);
  const slot = (s.charCodeAt(start) * 31 + s.charCodeAt(end - 1) * 7 + length) & (NAME_CACHE_SLOTS - 1);
  const cached = nameCache[slot]!;
  if (cached.length === length) {
    let k = 0;
    while (k < length && cached.charCodeAt(k) === s.charCodeAt(start + k)) k++;
    if (k === length) return cached;
  }
  const name = s.slice(start, end);
  nameCache[slot] = name;
  return name;
}

const INVALID_QNAME = -2;

/** Attribute names remembered per tag for the duplicate check. */
const FEW_ATTRIBUTES = 8;

/**
 * Index of the colon in a QName, -1 when unprefixed, or INVALID_QNAME when
 * the name is not a QName (Namespaces in XML 1.0 §4): at most one colon,
 * neither first nor last, and the local part must start like a name.
 */
function qNameColon(name: string): number {
  const colon = name.indexOf(':');
  if (colon < 0) return -1;
  if (colon === 0 || colon === name.length - 1 || name.indexOf(':', colon + 1) >= 0) return INVALID_QNAME;
  return isNameStartAt(name, colon + 1, name.charCodeAt(colon + 1)) ? colon : INVALID_QNAME;
}

/** The prefix before `colon` is `xml` or `xmlns`, which need no declaration. */
function isReservedPrefix(name: string, colon: number): boolean {
  return (colon === 3 || colon === 5) && name.startsWith(colon === 3 ? 'xml' : 'xmlns');
}

/** Keeps hostile names from bloating error texts. */
function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}

function describeChar(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Stores an attribute on a plain object; `__proto__` is a legal XML name and
 * must become an own property rather than reach the prototype setter.
 */
function setAttribute(attrs: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__') {
    Object.defineProperty(attrs, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    attrs[name] = value;
  }
}

/**
 * The value of attribute `name`, or undefined. Attribute values are strings,
 * so an Object.prototype member (toString, __proto__...) is never mistaken
 * for an attribute; cheaper than Object.hasOwn on the hot path.
 */
function ownAttribute(attrs: Record<string, string | undefined>, name: string): string | undefined {
  const value = attrs[name];
  return typeof value === 'string' ? value : undefined;
}

const XML_DECL_TARGET = /^xml(?:[ \t\r\n]|$)/;
const XML_DECL_ENCODING = /[ \t\r\n]encoding[ \t\r\n]*=[ \t\r\n]*(["'])(.*?)\1/;
const XML_DECL =
  /^xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])1\.[0-9]+\1(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(["'])[A-Za-z][A-Za-z0-9._-]*\2)?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(["'])(?:yes|no)\3)?[ \t\r\n]*$/;

const STREAM_DECODE = { stream: true };
const FINAL_DECODE = { stream: false };

export class StreamParser {
  private readonly handlers: ParserHandlers;
  private readonly framed: boolean;
  private readonly maxStanzaBytes: number;
  private readonly maxDepth: number;
  private readonly maxHeaderBytes: number;

  // Input decoding.
  private decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  /** The first bytes of a character cut by a chunk boundary, held by the decoder. */
  private utf8Tail: Buffer = NO_BYTES;
  /** A high surrogate ending a string chunk, waiting for its low half. */
  private pendingHigh = '';

  // The window being parsed.
  private s = '';
  /** The window is pure ASCII, so a code unit is a byte. */
  private ascii = true;
  /**
   * Handlers scan no further than this: the end of the window, or sooner when
   * the bytes up to here might be all the size limit still allows.
   */
  private end = 0;
  /** Start in `s` of the raw token or text run not yet consumed. */
  private tokenStart = 0;
  /** The part of the current name token that arrived in earlier windows. */
  private partial = '';

  // Tokenizer state.
  private state = S_TEXT;
  private phase = P_PROLOG;
  private atStart = true;
  private declAllowed = true;
  /** A CR ended the last window; a LF opening the next one belongs to it. */
  private skipLF = false;
  /** ']' characters ending the last window's text, for the ']]>' check. */
  private carriedBrackets = 0;
  private cdataBrackets = 0;
  /** Text of the CDATA section being parsed, from earlier windows. */
  private cdata = '';
  private bangIndex = 0;
  private piQuestion = false;
  private entityReturn = S_TEXT;
  private charRefHex = false;
  private charRefValue = 0;
  private charRefDigits = 0;

  // The tag being parsed.
  private tagName = '';
  private tagColon = -1;
  private attrs: Record<string, string> = {};
  /** Names of the tag's attributes so far, for the duplicate check. */
  private attrNames: string[] = [];
  private attrCount = 0;
  /** The tag has an `xmlns` attribute. */
  private tagDeclaresDefault = false;
  /** Attributes with a prefix other than xml/xmlns, checked when the tag ends. */
  private prefixedAttrs: string[] | null = null;
  private attrName = '';
  private attrValue = '';
  private quote = 0;
  private spaceSeen = false;

  // The tree being built.
  private stack: Element[] = [];
  /** Per depth: a default namespace is declared on that element or an ancestor inside the stanza. */
  private defaultDeclared: boolean[] = [];
  private text = '';
  private rootName = '';
  private rootAttrs: Record<string, string> | null = null;
  private usesRootDefault = false;
  private rootPrefixesUsed: string[] | null = null;

  // Size accounting of the unfinished stanza or header.
  private counting = false;
  private countingHeader = false;
  private held = 0;
  private countedPos = 0;

  // Control.
  private failed = false;
  /** Bumped by reset() and by errors; a running write() stops when it changes. */
  private epoch = 0;
  private inHandler = false;

  constructor(handlers: ParserHandlers, limits: Partial<ParserLimits> = {}, mode: ParserMode = 'stream') {
    this.handlers = handlers;
    this.framed = mode === 'framed';
    this.maxStanzaBytes = limits.maxStanzaBytes ?? DEFAULT_PARSER_LIMITS.maxStanzaBytes;
    this.maxDepth = limits.maxDepth ?? DEFAULT_PARSER_LIMITS.maxDepth;
    this.maxHeaderBytes = limits.maxHeaderBytes ?? DEFAULT_PARSER_LIMITS.maxHeaderBytes;
    this.reset();
  }

  /** Bytes counted so far for the unfinished stanza or stream header; 0 between stanzas. */
  get bufferedBytes(): number {
    return this.counting ? this.held : 0;
  }

  /**
   * Starts a fresh stream, as required after STARTTLS (RFC 6120 §5.4.3.3) and
   * after SASL success (§6.4.6). Called from inside a handler, it also
   * discards the rest of the chunk being parsed: bytes that followed
   * `<starttls/>` in the same read must never reach the new stream.
   */
  reset(): void {
    this.epoch++;
    this.decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    this.utf8Tail = NO_BYTES;
    this.pendingHigh = '';
    this.s = '';
    this.tokenStart = 0;
    this.partial = '';
    this.state = S_TEXT;
    this.phase = P_PROLOG;
    this.atStart = true;
    this.declAllowed = true;
    this.skipLF = false;
    this.carriedBrackets = 0;
    this.attrs = {};
    this.prefixedAttrs = null;
    this.attrValue = '';
    this.cdata = '';
    this.stack = [];
    this.text = '';
    this.rootName = '';
    this.rootAttrs = null;
    this.failed = false;
    this.counting = false;
    if (!this.framed) this.beginCount(0, true, 0);
  }

  /**
   * Parses the next chunk. Input errors are reported through `handlers.error`,
   * never thrown. An exception thrown by a handler propagates to the caller
   * and leaves the parser stopped until `reset()`, since the events that
   * followed it in the chunk were lost. Handlers must not call `write()`.
   */
  write(chunk: Buffer | string): void {
    if (this.failed) return;
    const epoch = this.epoch;
    try {
      if (this.framed) this.beginFrame();
      if (typeof chunk === 'string') this.writeString(chunk, epoch);
      else this.writeBuffer(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk), epoch);
      if (this.framed && this.epoch === epoch) this.endFrame();
    } catch (err) {
      if (this.inHandler) {
        this.inHandler = false;
        this.failed = true;
        this.epoch++;
        throw err;
      }
      // Defensive: no input should get here, but write() must never throw.
      this.fail('not-well-formed', `unparseable input (${err instanceof Error ? err.message : String(err)})`);
    }
  }

  // ---------------------------------------------------------------------
  // Input: decoding and windows

  private writeBuffer(buf: Buffer, epoch: number): void {
    const total = buf.length;
    for (let off = 0; off < total && this.epoch === epoch; off += WINDOW) {
      const end = Math.min(off + WINDOW, total);
      // RFC 7395 §3.3: a WebSocket message holds whole characters, so the
      // decoder is flushed at the end of each frame.
      const part = off === 0 && end === total ? buf : buf.subarray(off, end);
      this.feedBytes(part, this.framed && end === total, epoch);
    }
  }

  /** Decodes strictly: invalid UTF-8 is a stream error (RFC 6120 §11.6). */
  private feedBytes(bytes: Buffer, flush: boolean, epoch: number): void {
    const ascii = isAscii(bytes);
    if (ascii && this.utf8Tail.length === 0) {
      // ASCII decodes to itself; latin1 is the cheapest way to say so.
      this.feed(bytes.toString('latin1'), true, epoch);
      return;
    }
    let s: string;
    try {
      s = this.decoder.decode(bytes, flush ? FINAL_DECODE : STREAM_DECODE);
    } catch {
      this.refuseUtf8(bytes, epoch);
      return;
    }
    this.utf8Tail = flush || ascii ? NO_BYTES : this.nextUtf8Tail(bytes);
    this.feed(s, false, epoch);
  }

  /** What the decoder holds back after `bytes`, tracked to locate a later fault. */
  private nextUtf8Tail(bytes: Buffer): Buffer {
    const joined = bytes.length >= 3 ? bytes : Buffer.concat([this.utf8Tail, bytes]);
    const k = incompleteUtf8Tail(joined);
    return k === 0 ? NO_BYTES : Buffer.from(joined.subarray(joined.length - k));
  }

  /**
   * Parses the well-formed part of a chunk that holds invalid UTF-8 and then
   * reports the error, so the events do not depend on where chunks were cut.
   */
  private refuseUtf8(bytes: Buffer, epoch: number): void {
    const all = this.utf8Tail.length === 0 ? bytes : Buffer.concat([this.utf8Tail, bytes]);
    const valid = utf8ValidPrefix(all);
    this.utf8Tail = NO_BYTES;
    this.decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    if (valid > 0) this.feed(this.decoder.decode(all.subarray(0, valid)), false, epoch);
    if (this.epoch === epoch) this.fail('not-well-formed', 'the input is not valid UTF-8 (RFC 6120 §11.6)');
  }

  private writeString(chunk: string, epoch: number): void {
    if (this.utf8Tail.length > 0) {
      this.fail('not-well-formed', 'the input is not valid UTF-8 (RFC 6120 §11.6)');
      return;
    }
    let input = this.pendingHigh === '' ? chunk : this.pendingHigh + chunk;
    this.pendingHigh = '';
    // A surrogate pair cut between two string chunks is kept whole (a frame
    // must hold whole characters, so framed mode lets the scanner refuse it).
    if (!this.framed && input.length > 0 && isHighSurrogate(input.charCodeAt(input.length - 1))) {
      this.pendingHigh = input.slice(-1);
      input = input.slice(0, -1);
    }
    const total = input.length;
    let off = 0;
    while (off < total && this.epoch === epoch) {
      let end = Math.min(off + WINDOW, total);
      if (end < total && isHighSurrogate(input.charCodeAt(end - 1))) end--;
      const window = off === 0 && end === total ? input : input.slice(off, end);
      this.feed(window, Buffer.byteLength(window) === window.length, epoch);
      off = end;
    }
  }

  // ---------------------------------------------------------------------
  // The state machine

  private feed(s: string, ascii: boolean, epoch: number): void {
    this.s = s;
    this.ascii = ascii;
    this.tokenStart = 0;
    this.countedPos = 0;
    this.end = this.counting ? this.budgetEnd(0) : s.length;
    let pos = this.skipLF ? this.skipLineFeed() : 0;
    for (;;) {
      pos = this.run(pos, epoch);
      if (this.epoch !== epoch || !this.extendBudget(pos)) return;
      if (pos >= s.length) break;
    }
    this.endWindow();
  }

  /** Runs the state machine from `pos` to `this.end`; returns where it stopped. */
  private run(start: number, epoch: number): number {
    let pos = start;
    while (pos < this.end && this.epoch === epoch) {
      switch (this.state) {
        case S_TEXT:
          pos = this.stack.length === 0 ? this.scanOutside(pos) : this.scanText(pos);
          break;
        case S_TAG_OPEN:
          pos = this.tagOpen(pos);
          break;
        case S_START_NAME:
          pos = this.startName(pos);
          break;
        case S_IN_TAG:
          pos = this.inTag(pos);
          break;
        case S_ATTR_NAME:
          pos = this.attributeName(pos);
          break;
        case S_ATTR_EQ:
          pos = this.attributeEquals(pos);
          break;
        case S_ATTR_QUOTE:
          pos = this.attributeQuote(pos);
          break;
        case S_ATTR_VALUE:
          pos = this.scanAttributeValue(pos);
          break;
        case S_SELF_CLOSE:
          pos = this.selfClose(pos);
          break;
        case S_END_NAME:
          pos = this.endName(pos);
          break;
        case S_END_SPACE:
          pos = this.endSpace(pos);
          break;
        case S_ENTITY:
          pos = this.referenceStart(pos);
          break;
        case S_CHARREF:
          pos = this.charRefStart(pos);
          break;
        case S_CHARREF_DIGITS:
          pos = this.charRefDigitsState(pos);
          break;
        case S_ENTITY_NAME:
          pos = this.entityName(pos);
          break;
        case S_BANG:
          pos = this.bang(pos);
          break;
        case S_CDATA:
          pos = this.scanCdata(pos);
          break;
        case S_PI:
          pos = this.scanPi(pos);
          break;
        default:
          return pos;
      }
    }
    return pos;
  }

  /** Carries the unfinished token into the next window. */
  private endWindow(): void {
    const len = this.s.length;
    let brackets = 0;
    switch (this.state) {
      case S_TEXT:
        if (this.stack.length > 0) {
          this.appendText(len);
          brackets = this.bracketsBefore(len);
        }
        break;
      case S_CDATA:
        this.cdata += this.s.slice(this.tokenStart, len);
        break;
      case S_ATTR_VALUE:
        this.appendAttributeValue(len);
        break;
      case S_START_NAME:
      case S_ATTR_NAME:
      case S_END_NAME:
      case S_ENTITY_NAME:
      case S_PI:
        this.partial += this.s.slice(this.tokenStart, len);
        break;
      default:
        break;
    }
    this.carriedBrackets = brackets;
    if (this.counting) this.account(len);
  }

  private skipLineFeed(): number {
    this.skipLF = false;
    if (this.s.charCodeAt(0) !== LF) return 0;
    this.tokenStart = 1;
    return 1;
  }

  /** Character data outside any stanza: only whitespace (RFC 6120 §11.7 keepalives). */
  private scanOutside(pos: number): number {
    const s = this.s;
    const len = this.end;
    let i = pos;
    if (this.atStart) {
      // A byte order mark may open the stream (RFC 3629 §6).
      this.atStart = false;
      if (s.charCodeAt(i) === BOM) i++;
    }
    const first = i;
    while (i < len && isSpace(s.charCodeAt(i))) i++;
    if (i > first) this.declAllowed = false;
    if (i === len) return len;
    if (s.charCodeAt(i) !== LT || this.phase === P_EPILOG) return this.fail('not-well-formed', this.outsideTextError());
    if (this.phase === P_BODY) this.beginCount(i, false, 0);
    this.state = S_TAG_OPEN;
    return i + 1;
  }

  private outsideTextError(): string {
    if (this.phase === P_EPILOG) return 'data after the end of the stream';
    if (this.framed) return 'text outside a top-level element (RFC 7395 §3.3)';
    if (this.phase === P_PROLOG) return 'text before the stream header';
    return 'text directly inside the stream element (RFC 6120 §11.7)';
  }

  /** Character data inside a stanza. */
  private scanText(pos: number): number {
    const s = this.s;
    const len = this.end;
    for (let i = pos; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        if ((CLASS[c] & C_TEXT) !== 0) continue;
      } else if (c < 0xd800) {
        continue;
      }
      return this.textSpecial(c, i);
    }
    return len;
  }

  private textSpecial(c: number, i: number): number {
    switch (c) {
      case LT:
        this.appendText(i);
        this.state = S_TAG_OPEN;
        return i + 1;
      case AMP:
        this.appendText(i);
        this.entityReturn = S_TEXT;
        this.state = S_ENTITY;
        return i + 1;
      case GT:
        if (this.bracketsBefore(i) >= 2) return this.fail('not-well-formed', "']]>' is not allowed in character data");
        return i + 1;
      case CR:
        // XML 1.0 §2.11: CR LF and lone CR become LF.
        this.appendText(i);
        this.text += '\n';
        return this.afterCR(i);
      default:
        return this.checkChar(c, i);
    }
  }

  /** Accepts the character at `i` if XML 1.0 allows it (§2.2). */
  private checkChar(c: number, i: number): number {
    const width = c < 0x80 ? 0 : wideCharWidth(this.s, i, c);
    if (width === 0) return this.fail('not-well-formed', `character ${describeChar(c)} is not allowed in XML (XML 1.0 §2.2)`);
    return i + width;
  }

  /** Raw ']' characters just before position `i` of text, at most 2. */
  private bracketsBefore(i: number): number {
    const s = this.s;
    if (i >= 2) return s.charCodeAt(i - 1) === RBRACKET ? (s.charCodeAt(i - 2) === RBRACKET ? 2 : 1) : 0;
    if (i === 1) return s.charCodeAt(0) === RBRACKET ? 1 + Math.min(this.carriedBrackets, 1) : 0;
    return this.carriedBrackets;
  }

  private afterCR(i: number): number {
    const next = i + 1;
    if (next === this.s.length) {
      this.skipLF = true;
      this.tokenStart = next;
      return next;
    }
    const resume = this.s.charCodeAt(next) === LF ? next + 1 : next;
    this.tokenStart = resume;
    return resume;
  }

  private appendText(end: number): void {
    if (end > this.tokenStart) this.text += this.s.slice(this.tokenStart, end);
  }

  private appendAttributeValue(end: number): void {
    if (end > this.tokenStart) this.attrValue += this.s.slice(this.tokenStart, end);
  }

  /** The slice of the current name token up to `end`, joined to any earlier part. */
  private takeToken(end: number): string {
    if (this.partial === '') return recurringName(this.s, this.tokenStart, end);
    const token = this.partial + this.s.slice(this.tokenStart, end);
    this.partial = '';
    return token;
  }

  /** Index of the first character at or after `pos` that is not a NameChar. */
  private scanName(pos: number): number {
    const s = this.s;
    const len = this.end;
    let i = pos;
    while (i < len) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        if ((CLASS[c] & C_NAME) === 0) return i;
        i++;
      } else {
        const width = wideNameWidth(s, i, c, false);
        if (width === 0) return i;
        i += width;
      }
    }
    return len;
  }

  // ---------------------------------------------------------------------
  // Markup after '<'

  private tagOpen(pos: number): number {
    const s = this.s;
    const c = s.charCodeAt(pos);
    if (isNameStartAt(s, pos, c)) return this.beginStartTag(pos);
    switch (c) {
      case SLASH:
        // At the top level only the stream root can be closed.
        if (this.stack.length === 0 && (this.framed || this.phase !== P_BODY)) {
          return this.fail('not-well-formed', 'end tag without a matching start tag');
        }
        this.state = S_END_NAME;
        this.tokenStart = pos + 1;
        return pos + 1;
      case BANG:
        this.state = S_BANG;
        this.bangIndex = 0;
        return pos + 1;
      case QUESTION:
        // RFC 6120 §11.1, §11.5: only the XML declaration, and only first.
        if (!this.declAllowed) {
          return this.fail('restricted-xml', 'processing instructions are not allowed (RFC 6120 §11.1)');
        }
        this.declAllowed = false;
        this.piQuestion = false;
        this.state = S_PI;
        this.tokenStart = pos + 1;
        return pos + 1;
      default:
        return this.fail('not-well-formed', `character ${describeChar(c)} cannot start markup`);
    }
  }

  private beginStartTag(pos: number): number {
    this.declAllowed = false;
    if (this.framed && this.phase === P_PROLOG) {
      // The frame's first element: stop counting towards the header limit
      // and count this element, including its '<', as a stanza.
      this.phase = P_BODY;
      this.beginCount(pos, false, 1);
    }
    this.attrs = {};
    this.attrCount = 0;
    this.tagDeclaresDefault = false;
    this.prefixedAttrs = null;
    this.state = S_START_NAME;
    this.tokenStart = pos;
    return pos < this.end ? this.startName(pos) : pos;
  }

  private startName(pos: number): number {
    const end = this.scanName(pos);
    if (end === this.end) return end;
    const name = this.takeToken(end);
    const colon = qNameColon(name);
    if (colon === INVALID_QNAME) return this.fail('not-well-formed', `invalid element name "${clip(name)}"`);
    this.tagName = name;
    this.tagColon = colon;
    const c = this.s.charCodeAt(end);
    if (c === GT) return this.finishStartTag(end + 1, false);
    if (c === SLASH) {
      this.state = S_SELF_CLOSE;
      return end + 1;
    }
    if (isSpace(c)) {
      this.state = S_IN_TAG;
      this.spaceSeen = true;
      return end + 1;
    }
    return this.fail('not-well-formed', `invalid character ${describeChar(c)} in the name of <${clip(name)}>`);
  }

  /** Between attributes of a start tag. */
  private inTag(pos: number): number {
    const s = this.s;
    const len = this.end;
    for (let i = pos; i < len; i++) {
      const c = s.charCodeAt(i);
      if (isSpace(c)) {
        this.spaceSeen = true;
        continue;
      }
      if (c === GT) return this.finishStartTag(i + 1, false);
      if (c === SLASH) {
        this.state = S_SELF_CLOSE;
        return i + 1;
      }
      if (isNameStartAt(s, i, c)) {
        if (!this.spaceSeen) return this.fail('not-well-formed', `attributes of <${clip(this.tagName)}> must be separated by whitespace`);
        this.state = S_ATTR_NAME;
        this.tokenStart = i;
        return i;
      }
      return this.fail('not-well-formed', `invalid character ${describeChar(c)} in the start tag of <${clip(this.tagName)}>`);
    }
    return len;
  }

  private attributeName(pos: number): number {
    const end = this.scanName(pos);
    if (end === this.end) return end;
    const name = this.takeToken(end);
    const c = this.s.charCodeAt(end);
    if (c !== EQUALS && !isSpace(c)) return this.fail('not-well-formed', `attribute "${clip(name)}" has no value`);
    const colon = qNameColon(name);
    if (colon === INVALID_QNAME) return this.fail('not-well-formed', `invalid attribute name "${clip(name)}"`);
    if (this.isDuplicateAttribute(name)) return this.fail('not-well-formed', `duplicate attribute "${clip(name)}"`);
    if (colon > 0 && !isReservedPrefix(name, colon)) (this.prefixedAttrs ??= []).push(name);
    if (this.attrCount < FEW_ATTRIBUTES) this.attrNames[this.attrCount] = name;
    this.attrCount++;
    this.attrName = name;
    if (c !== EQUALS) {
      this.state = S_ATTR_EQ;
      return end + 1;
    }
    // Usually the quote follows at once: skip a trip through the state loop.
    const quote = end + 1 < this.end ? this.s.charCodeAt(end + 1) : 0;
    if (quote === QUOT || quote === APOS) return this.openAttributeValue(quote, end + 2);
    this.state = S_ATTR_QUOTE;
    return end + 1;
  }

  private openAttributeValue(quote: number, start: number): number {
    this.quote = quote;
    this.attrValue = '';
    this.state = S_ATTR_VALUE;
    this.tokenStart = start;
    return start;
  }

  /**
   * Tags usually have a few attributes, for which comparing names beats a
   * property lookup; a hostile tag with thousands falls back to the lookup
   * (every earlier attribute is already stored) to stay linear.
   */
  private isDuplicateAttribute(name: string): boolean {
    const count = this.attrCount;
    if (count > FEW_ATTRIBUTES) return ownAttribute(this.attrs, name) !== undefined;
    const names = this.attrNames;
    for (let i = 0; i < count; i++) if (names[i] === name) return true;
    return false;
  }

  private attributeEquals(pos: number): number {
    const s = this.s;
    const len = this.end;
    for (let i = pos; i < len; i++) {
      const c = s.charCodeAt(i);
      if (isSpace(c)) continue;
      if (c === EQUALS) {
        this.state = S_ATTR_QUOTE;
        return i + 1;
      }
      return this.fail('not-well-formed', `attribute "${clip(this.attrName)}" has no value`);
    }
    return len;
  }

  private attributeQuote(pos: number): number {
    const s = this.s;
    const len = this.end;
    for (let i = pos; i < len; i++) {
      const c = s.charCodeAt(i);
      if (isSpace(c)) continue;
      if (c === QUOT || c === APOS) return this.openAttributeValue(c, i + 1);
      return this.fail('not-well-formed', `the value of attribute "${clip(this.attrName)}" must be quoted`);
    }
    return len;
  }

  private scanAttributeValue(pos: number): number {
    const s = this.s;
    const len = this.end;
    for (let i = pos; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        if ((CLASS[c] & C_ATTR) !== 0) continue;
      } else if (c < 0xd800) {
        continue;
      }
      return this.attributeValueSpecial(c, i);
    }
    return len;
  }

  private attributeValueSpecial(c: number, i: number): number {
    switch (c) {
      case QUOT:
      case APOS:
        if (c !== this.quote) return i + 1;
        this.appendAttributeValue(i);
        return this.finishAttribute(i + 1);
      case LT:
        return this.fail('not-well-formed', `'<' in the value of attribute "${clip(this.attrName)}"`);
      case AMP:
        this.appendAttributeValue(i);
        this.entityReturn = S_ATTR_VALUE;
        this.state = S_ENTITY;
        return i + 1;
      case TAB:
      case LF:
        // XML 1.0 §3.3.3 attribute-value normalisation.
        this.appendAttributeValue(i);
        this.attrValue += ' ';
        this.tokenStart = i + 1;
        return i + 1;
      case CR:
        this.appendAttributeValue(i);
        this.attrValue += ' ';
        return this.afterCR(i);
      default:
        return this.checkChar(c, i);
    }
  }

  private finishAttribute(next: number): number {
    const name = this.attrName;
    const value = this.attrValue;
    this.attrValue = '';
    if (name.startsWith('xmlns')) {
      if (!this.acceptNamespaceDeclaration(name, value)) return 0;
      if (name.length === 5) this.tagDeclaresDefault = true;
    }
    setAttribute(this.attrs, name, value);
    this.state = S_IN_TAG;
    this.spaceSeen = false;
    return next;
  }

  /** Namespaces in XML 1.0 §3 constraints on `xmlns` and `xmlns:p` attributes. */
  private acceptNamespaceDeclaration(name: string, value: string): boolean {
    if (name === 'xmlns') {
      if (value !== XML_NS && value !== XMLNS_NS) return true;
      this.fail('not-well-formed', `the namespace ${value} cannot be the default namespace`);
      return false;
    }
    if (!name.startsWith('xmlns:')) return true;
    const prefix = name.slice(6);
    if (value === '') {
      this.fail('not-well-formed', `the namespace prefix "${clip(prefix)}" cannot be undeclared`);
      return false;
    }
    if (prefix === 'xmlns' || value === XMLNS_NS || (prefix === 'xml') !== (value === XML_NS)) {
      this.fail('not-well-formed', `reserved namespace prefix or name in "${clip(name)}"`);
      return false;
    }
    return true;
  }

  private selfClose(pos: number): number {
    if (this.s.charCodeAt(pos) === GT) return this.finishStartTag(pos + 1, true);
    return this.fail('not-well-formed', `expected '>' after '/' in <${clip(this.tagName)}>`);
  }

  private endName(pos: number): number {
    const end = this.scanName(pos);
    if (end === this.end) return end;
    this.tagName = this.takeToken(end);
    const c = this.s.charCodeAt(end);
    if (c === GT) return this.finishEndTag(end + 1);
    if (isSpace(c)) {
      this.state = S_END_SPACE;
      return end + 1;
    }
    return this.fail('not-well-formed', `invalid character ${describeChar(c)} in end tag </${clip(this.tagName)}>`);
  }

  private endSpace(pos: number): number {
    const s = this.s;
    const len = this.end;
    for (let i = pos; i < len; i++) {
      const c = s.charCodeAt(i);
      if (isSpace(c)) continue;
      if (c === GT) return this.finishEndTag(i + 1);
      return this.fail('not-well-formed', `invalid character ${describeChar(c)} in end tag </${clip(this.tagName)}>`);
    }
    return len;
  }

  /** `<!`: only a CDATA section may follow (RFC 6120 §11.1). */
  private bang(pos: number): number {
    const s = this.s;
    const len = this.end;
    const open = '[CDATA[';
    for (let i = pos; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c !== open.charCodeAt(this.bangIndex)) return this.refuseMarkup(c);
      if (++this.bangIndex === open.length) return this.beginCdata(i + 1);
    }
    return len;
  }

  private refuseMarkup(c: number): number {
    if (this.bangIndex === 0 && c === 0x2d /* - */) {
      return this.fail('restricted-xml', 'comments are not allowed (RFC 6120 §11.1)');
    }
    if (this.bangIndex === 0 && c === 0x44 /* D */) {
      return this.fail('restricted-xml', 'document type declarations are not allowed (RFC 6120 §11.1)');
    }
    return this.fail('restricted-xml', "'<!' markup other than CDATA sections is not allowed (RFC 6120 §11.1)");
  }

  private beginCdata(next: number): number {
    if (this.stack.length === 0) return this.fail('not-well-formed', 'CDATA section outside a stanza');
    this.cdataBrackets = 0;
    this.state = S_CDATA;
    this.tokenStart = next;
    return next;
  }

  /** CDATA content is ordinary text once decoded; it joins the surrounding text. */
  private scanCdata(pos: number): number {
    const s = this.s;
    const len = this.end;
    for (let i = pos; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c === RBRACKET) {
        this.cdataBrackets++;
        continue;
      }
      if (c === GT && this.cdataBrackets >= 2) return this.endCdata(i);
      this.cdataBrackets = 0;
      if ((c >= SPACE && c < 0xd800) || c === TAB || c === LF) continue;
      if (c === CR) {
        this.cdata += `${this.s.slice(this.tokenStart, i)}\n`;
        return this.afterCR(i);
      }
      const next = this.checkChar(c, i);
      if (this.failed) return next;
      i = next - 1;
    }
    return len;
  }

  /** `i` is the '>' of ']]>'. */
  private endCdata(i: number): number {
    // The section's text ends with the two ']' of ']]>' (perhaps from an
    // earlier window). It is kept apart from the element's text until now
    // so that dropping them costs no more than the section itself.
    const content = this.cdata + this.s.slice(this.tokenStart, i);
    this.cdata = '';
    this.text += content.slice(0, -2);
    this.state = S_TEXT;
    this.tokenStart = i + 1;
    return i + 1;
  }

  /** A processing instruction where the XML declaration may appear. */
  private scanPi(pos: number): number {
    const s = this.s;
    const len = this.end;
    for (let i = pos; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c === GT && this.piQuestion) return this.acceptXmlDeclaration(this.takeToken(i).slice(0, -1), i + 1);
      this.piQuestion = c === QUESTION;
    }
    return len;
  }

  private acceptXmlDeclaration(content: string, next: number): number {
    if (!XML_DECL_TARGET.test(content)) {
      return this.fail('restricted-xml', 'processing instructions are not allowed (RFC 6120 §11.1)');
    }
    const encoding = XML_DECL_ENCODING.exec(content)?.[2];
    if (encoding !== undefined && encoding.toLowerCase() !== 'utf-8') {
      return this.fail('unsupported-encoding', `encoding "${clip(encoding)}" is not supported; XMPP uses UTF-8 (RFC 6120 §11.6)`);
    }
    if (!XML_DECL.test(content)) return this.fail('not-well-formed', 'malformed XML declaration');
    this.state = S_TEXT;
    this.tokenStart = next;
    return next;
  }

  // ---------------------------------------------------------------------
  // References

  private referenceStart(pos: number): number {
    const s = this.s;
    const c = s.charCodeAt(pos);
    if (c === HASH) {
      this.state = S_CHARREF;
      return pos + 1;
    }
    if (isNameStartAt(s, pos, c)) {
      this.state = S_ENTITY_NAME;
      this.tokenStart = pos;
      return pos;
    }
    return this.fail('not-well-formed', "'&' must start an entity or character reference");
  }

  private charRefStart(pos: number): number {
    const c = this.s.charCodeAt(pos);
    this.charRefValue = 0;
    this.charRefDigits = 0;
    this.state = S_CHARREF_DIGITS;
    if (c === LOWER_X) {
      this.charRefHex = true;
      return pos + 1;
    }
    this.charRefHex = false;
    if (digitValue(c, false) >= 0) return pos;
    return this.fail('not-well-formed', 'malformed character reference');
  }

  private charRefDigitsState(pos: number): number {
    const s = this.s;
    const len = this.end;
    const hex = this.charRefHex;
    const base = hex ? 16 : 10;
    for (let i = pos; i < len; i++) {
      const c = s.charCodeAt(i);
      const digit = digitValue(c, hex);
      if (digit >= 0) {
        // Saturate just above the Unicode range: the value only needs to be
        // known invalid, however many digits follow.
        this.charRefValue = Math.min(this.charRefValue * base + digit, 0x110000);
        this.charRefDigits++;
        continue;
      }
      if (c !== SEMICOLON || this.charRefDigits === 0) return this.fail('not-well-formed', 'unterminated character reference');
      const cp = this.charRefValue;
      if (!isXmlChar(cp)) {
        return this.fail('not-well-formed', `character reference to ${describeChar(cp)}, which XML does not allow (XML 1.0 §4.1)`);
      }
      return this.resumeAfterReference(String.fromCodePoint(cp), i + 1);
    }
    return len;
  }

  private entityName(pos: number): number {
    const end = this.scanName(pos);
    if (end === this.end) return end;
    const name = this.takeToken(end);
    if (this.s.charCodeAt(end) !== SEMICOLON) {
      return this.fail('not-well-formed', `entity reference "&${clip(name)}" is not terminated by ';'`);
    }
    const value = predefinedEntity(name);
    if (value === undefined) {
      return this.fail('restricted-xml', `entity reference "&${clip(name)};" is not allowed; only the predefined entities are (RFC 6120 §11.1)`);
    }
    return this.resumeAfterReference(value, end + 1);
  }

  private resumeAfterReference(value: string, next: number): number {
    if (this.entityReturn === S_TEXT) this.text += value;
    else this.attrValue += value;
    this.state = this.entityReturn;
    this.tokenStart = next;
    return next;
  }

  // ---------------------------------------------------------------------
  // Tree building

  private finishStartTag(end: number, selfClosing: boolean): number {
    if (!this.framed && this.phase === P_PROLOG) return this.openStream(end, selfClosing);
    const stack = this.stack;
    const depth = stack.length;
    if (depth >= this.maxDepth) {
      return this.fail('policy-violation', `elements are nested deeper than ${this.maxDepth} levels`);
    }
    const parent = depth > 0 ? stack[depth - 1]! : null;
    if (parent === null) {
      this.usesRootDefault = false;
      this.rootPrefixesUsed = null;
    }
    const name = this.tagName;
    const attrs = this.attrs;
    if (!this.bindNamespaces(name, attrs)) return 0;
    const el = new Element(name);
    el.attrs = attrs;
    if (parent !== null) {
      this.flushText(parent);
      el.parent = parent;
      parent.children.push(el);
    }
    this.state = S_TEXT;
    this.tokenStart = end;
    if (!selfClosing) {
      stack.push(el);
      return end;
    }
    return parent === null ? this.completeStanza(el, end) : end;
  }

  private finishEndTag(end: number): number {
    const name = this.tagName;
    const stack = this.stack;
    if (stack.length === 0) {
      if (name !== this.rootName) {
        return this.fail('not-well-formed', `end tag </${clip(name)}> does not match <${clip(this.rootName)}>`);
      }
      return this.closeStream(end);
    }
    const el = stack[stack.length - 1]!;
    if (el.name !== name) return this.fail('not-well-formed', `end tag </${clip(name)}> does not match <${clip(el.name)}>`);
    stack.pop();
    this.flushText(el);
    this.state = S_TEXT;
    this.tokenStart = end;
    return stack.length === 0 ? this.completeStanza(el, end) : end;
  }

  /** Adds the pending text to `el`, merged with a preceding text node. */
  private flushText(el: Element): void {
    const text = this.text;
    if (text === '') return;
    this.text = '';
    const children = el.children;
    const last = children.length - 1;
    const previous = last >= 0 ? children[last] : undefined;
    if (typeof previous === 'string') children[last] = previous + text;
    else children.push(text);
  }

  /**
   * Checks that every prefix the element and its attributes use is bound
   * (Namespaces in XML 1.0 §5), noting what the stanza borrows from the
   * stream root so it can be detached later.
   */
  private bindNamespaces(name: string, attrs: Record<string, string>): boolean {
    const depth = this.stack.length;
    const declared = this.tagDeclaresDefault || (depth > 0 && this.defaultDeclared[depth - 1]!);
    this.defaultDeclared[depth] = declared;
    const colon = this.tagColon;
    if (colon < 0) {
      if (!declared) this.usesRootDefault = true;
    } else {
      const prefix = name.slice(0, colon);
      if (prefix === 'xmlns' || this.lookupPrefix(prefix, attrs) === undefined) {
        this.fail('not-well-formed', `unbound namespace prefix "${clip(prefix)}" on <${clip(name)}>`);
        return false;
      }
    }
    return this.prefixedAttrs === null || this.bindAttributePrefixes(attrs);
  }

  /**
   * Attribute prefixes must be bound, and two attributes must not have the
   * same expanded name (Namespaces in XML 1.0 §6.3).
   */
  private bindAttributePrefixes(attrs: Record<string, string>): boolean {
    const names = this.prefixedAttrs!;
    const expanded = names.length > 1 ? new Set<string>() : null;
    for (const name of names) {
      const colon = name.indexOf(':');
      const ns = this.lookupPrefix(name.slice(0, colon), attrs);
      if (ns === undefined) {
        this.fail('not-well-formed', `unbound namespace prefix on attribute "${clip(name)}"`);
        return false;
      }
      if (expanded === null) continue;
      const key = `${ns} ${name.slice(colon + 1)}`;
      if (expanded.has(key)) {
        this.fail('not-well-formed', `attribute "${clip(name)}" duplicates another in the same namespace`);
        return false;
      }
      expanded.add(key);
    }
    return true;
  }

  /** The namespace bound to `prefix` on the element being opened, or undefined. */
  private lookupPrefix(prefix: string, own: Record<string, string>): string | undefined {
    if (prefix === 'xml') return XML_NS;
    const key = `xmlns:${prefix}`;
    const declared = ownAttribute(own, key);
    if (declared !== undefined) return declared;
    const stack = this.stack;
    for (let i = stack.length - 1; i >= 0; i--) {
      const inherited = ownAttribute(stack[i]!.attrs, key);
      if (inherited !== undefined) return inherited;
    }
    const fromRoot = this.rootAttrs === null ? undefined : ownAttribute(this.rootAttrs, key);
    if (fromRoot === undefined) return undefined;
    const used = (this.rootPrefixesUsed ??= []);
    if (!used.includes(prefix)) used.push(prefix);
    return fromRoot;
  }

  /** The stream root (RFC 6120 §4.7, §4.8). */
  private openStream(end: number, selfClosing: boolean): number {
    const name = this.tagName;
    const attrs = this.attrs;
    const colon = this.tagColon;
    const ns = colon < 0 ? ownAttribute(attrs, 'xmlns') : this.lookupPrefix(name.slice(0, colon), attrs);
    if (colon >= 0 && ns === undefined) {
      return this.fail('not-well-formed', `unbound namespace prefix on <${clip(name)}>`);
    }
    if (this.prefixedAttrs !== null && !this.bindAttributePrefixes(attrs)) return 0;
    const local = colon < 0 ? name : name.slice(colon + 1);
    if (local !== 'stream' || ns !== STREAMS_NS) {
      return this.fail(
        'invalid-namespace',
        `the stream root must be <stream> in namespace ${STREAMS_NS} (RFC 6120 §4.9.3.10), not <${clip(name)}> in ${ns === undefined ? 'no namespace' : clip(ns)}`,
      );
    }
    this.rootName = name;
    this.rootAttrs = attrs;
    this.phase = P_BODY;
    this.stopCount();
    this.state = S_TEXT;
    this.tokenStart = end;
    const epoch = this.epoch;
    this.inHandler = true;
    this.handlers.streamOpen(name, { ...attrs });
    this.inHandler = false;
    if (selfClosing && this.epoch === epoch) return this.closeStream(end);
    return end;
  }

  private closeStream(end: number): number {
    this.phase = P_EPILOG;
    this.stopCount();
    this.state = S_TEXT;
    this.tokenStart = end;
    this.inHandler = true;
    this.handlers.streamClose();
    this.inHandler = false;
    return end;
  }

  private completeStanza(el: Element, end: number): number {
    this.adoptRootNamespaces(el);
    this.stopCount();
    this.inHandler = true;
    this.handlers.element(el);
    this.inHandler = false;
    return end;
  }

  /**
   * The stanza leaves the stream: give it the namespace declarations it
   * inherited from the root so that getNS() and findNS() still work.
   */
  private adoptRootNamespaces(el: Element): void {
    const root = this.rootAttrs;
    if (root === null) return;
    const attrs = el.attrs;
    const defaultNS = ownAttribute(root, 'xmlns');
    if (this.usesRootDefault && defaultNS !== undefined && ownAttribute(attrs, 'xmlns') === undefined) attrs['xmlns'] = defaultNS;
    const used = this.rootPrefixesUsed;
    if (used === null) return;
    for (const prefix of used) {
      const key = `xmlns:${prefix}`;
      if (ownAttribute(attrs, key) === undefined) attrs[key] = root[key];
    }
  }

  // ---------------------------------------------------------------------
  // Frames, limits and errors

  /** RFC 7395 §3.3: each WebSocket message starts afresh at the top level. */
  private beginFrame(): void {
    this.phase = P_PROLOG;
    this.atStart = true;
    this.declAllowed = true;
    this.beginCount(0, true, 0);
  }

  /** RFC 7395 §3.3: a message holds complete elements only. */
  private endFrame(): void {
    this.stopCount();
    if (this.state !== S_TEXT || this.stack.length > 0) {
      this.fail('not-well-formed', 'a WebSocket message must contain complete XML elements only (RFC 7395 §3.3)');
    }
  }

  /**
   * Starts counting the bytes of a stanza (or of the stream header) at `pos`
   * in the window; `initial` bytes were already seen.
   */
  private beginCount(pos: number, header: boolean, initial: number): void {
    this.counting = true;
    this.countingHeader = header;
    this.held = initial;
    this.countedPos = pos;
    this.end = this.budgetEnd(pos);
  }

  private stopCount(): void {
    this.counting = false;
    this.end = this.s.length;
  }

  private get limit(): number {
    return this.countingHeader ? this.maxHeaderBytes : this.maxStanzaBytes;
  }

  /** Adds the UTF-8 size of the window's text up to `pos` to the count. */
  private account(pos: number): void {
    const from = this.countedPos;
    if (pos <= from) return;
    this.held += this.ascii ? pos - from : Buffer.byteLength(this.s.slice(from, pos));
    this.countedPos = pos;
  }

  /**
   * How far from `pos` (where the count stands) the parser may go without
   * possibly crossing the limit. A code unit is at most 3 bytes of UTF-8, so
   * outside ASCII the answer is a cautious one, refined by extendBudget().
   */
  private budgetEnd(pos: number): number {
    const len = this.s.length;
    const room = this.limit - this.held;
    if (this.ascii) return Math.min(len, pos + room);
    const safe = Math.floor(room / 3);
    if (safe > 0) return Math.min(len, pos + safe);
    if (pos >= len) return len;
    // Under 3 bytes left: does the next character still fit?
    const c = this.s.charCodeAt(pos);
    const bytes = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;
    return bytes <= room ? pos + 1 : pos;
  }

  /**
   * The parser stopped at `pos`, the end of the window or the end of its
   * budget: count what it consumed and either let it go further or refuse
   * the stanza, exactly at the character that crosses the limit (RFC 6120
   * §13.12), so the outcome does not depend on how the input was chunked.
   */
  private extendBudget(pos: number): boolean {
    if (!this.counting) {
      this.end = this.s.length;
      return true;
    }
    this.account(pos);
    if (this.held <= this.limit) {
      if (pos >= this.s.length) return true;
      const end = this.budgetEnd(pos);
      if (end > pos) {
        this.end = end;
        return true;
      }
    }
    const limit = this.limit;
    this.fail('policy-violation', this.countingHeader ? `stream header exceeds ${limit} bytes` : `stanza exceeds ${limit} bytes`);
    return false;
  }

  /** Reports the error once and stops the parser until reset(). Returns a dummy position. */
  private fail(condition: StreamErrorCondition, text: string): number {
    if (this.failed) return 0;
    this.failed = true;
    this.epoch++;
    this.state = S_FAILED;
    this.stack = [];
    this.text = '';
    this.partial = '';
    this.attrValue = '';
    this.cdata = '';
    this.counting = false;
    this.inHandler = true;
    this.handlers.error(condition, text);
    this.inHandler = false;
    return 0;
  }
}
