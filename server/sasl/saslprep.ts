/**
 * SASLprep (RFC 4013): the stringprep (RFC 3454) profile used to prepare user
 * names and passwords before SCRAM and PLAIN compare them.
 *
 * Steps, in the order RFC 3454 section 3 prescribes: map, normalize (NFKC),
 * prohibit, check bidi. Unassigned code points are refused unless the caller
 * prepares a "query" string (RFC 3454 section 7).
 *
 * Where a table of RFC 3454 coincides with a Unicode property, we use the
 * property escape; small tables are written out. Approximations, all of which
 * come from stringprep being pinned to Unicode 3.2 while Node ships a newer
 * Unicode, are noted where they occur. None of them changes the *output* of a
 * string that both the client and the server accept, which is what matters for
 * SCRAM's salted-password derivation; they only move the accept/reject line for
 * exotic input. The one exception is NFKC: Node's current normalization differs
 * from Unicode 3.2's for five CJK compatibility ideographs (U+2F868, U+2F874,
 * U+2F91F, U+2F95F, U+2F9BF; Unicode Corrigendum #4), which we accept as is.
 *
 * Checked against Python's stringprep module (Unicode 3.2 tables) for every
 * single code point: outside those five, the results agree except that
 * characters assigned after Unicode 3.2 are accepted (see UNASSIGNED).
 */

/** Why a string was refused. Deliberately carries no code point: the input may be a password. */
export type SaslprepFailureReason = 'prohibited' | 'unassigned' | 'bidi';

export class SaslprepError extends Error {
  constructor(public readonly reason: SaslprepFailureReason) {
    super(describe(reason));
    this.name = 'SaslprepError';
  }
}

function describe(reason: SaslprepFailureReason): string {
  switch (reason) {
    case 'prohibited':
      return 'SASLprep: string contains a prohibited code point';
    case 'unassigned':
      return 'SASLprep: string contains an unassigned code point';
    case 'bidi':
      return 'SASLprep: string violates the bidirectional text rules';
  }
}

/**
 * RFC 4013 section 2.1, "commonly mapped to nothing" (RFC 3454 table B.1), written
 * out exactly. U+200B is in both this table and C.1.2; like most implementations
 * we apply B.1 first, so it disappears rather than becoming a space.
 */
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu;

/** RFC 4013 section 2.1, non-ASCII space characters (RFC 3454 table C.1.2), mapped to U+0020. */
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu;

/**
 * RFC 4013 section 2.3 prohibited output (RFC 3454 tables C.1.2 to C.9). The
 * property escapes used here are exact for assigned characters:
 * \p{Cc} is C.2.1 plus U+0080..U+009F of C.2.2, \p{Co} is C.3, the
 * Noncharacter_Code_Point property is C.4 and \p{Cs} (lone surrogates) is C.5.
 */
const PROHIBITED = new RegExp(
  [
    '[\\u00A0\\u1680\\u2000-\\u200B\\u202F\\u205F\\u3000]', // C.1.2 (normally mapped away already)
    '\\p{Cc}', // C.2.1, and the C1 controls of C.2.2
    '[\\u06DD\\u070F\\u180E\\u200C\\u200D\\u2028\\u2029\\u2060-\\u2063\\u206A-\\u206F\\uFEFF\\uFFF9-\\uFFFC\\u{1D173}-\\u{1D17A}]', // rest of C.2.2
    '\\p{Co}', // C.3 private use
    '\\p{Noncharacter_Code_Point}', // C.4
    '\\p{Cs}', // C.5 surrogate code points
    '[\\uFFF9-\\uFFFD]', // C.6 inappropriate for plain text
    '[\\u2FF0-\\u2FFB]', // C.7 inappropriate for canonical representation
    '[\\u0340\\u0341\\u200E\\u200F\\u202A-\\u202E\\u206A-\\u206F]', // C.8 change display properties
    '[\\u{E0001}\\u{E0020}-\\u{E007F}]', // C.9 tagging characters
  ].join('|'),
  'u',
);

/**
 * Unassigned code points (RFC 3454 table A.1, i.e. unassigned in Unicode 3.2).
 * Approximation: \p{Cn} is "unassigned in the Unicode version Node ships", a
 * subset of A.1. Characters assigned after Unicode 3.2 are therefore accepted in
 * stored strings, where a strict implementation would refuse them.
 */
const UNASSIGNED = /\p{Cn}/u;

/**
 * RandALCat: characters with bidi class R or AL (RFC 3454 table D.1), written out
 * exactly from the Unicode 3.2 data the RFC is based on.
 */
const RAND_AL_CAT_RANGES =
  '\\u05BE\\u05C0\\u05C3\\u05D0-\\u05EA\\u05F0-\\u05F4\\u061B\\u061F\\u0621-\\u063A\\u0640-\\u064A' +
  '\\u066D-\\u066F\\u0671-\\u06D5\\u06DD\\u06E5-\\u06E6\\u06FA-\\u06FE\\u0700-\\u070D\\u0710' +
  '\\u0712-\\u072C\\u0780-\\u07A5\\u07B1\\u200F\\uFB1D\\uFB1F-\\uFB28\\uFB2A-\\uFB36\\uFB38-\\uFB3C' +
  '\\uFB3E\\uFB40-\\uFB41\\uFB43-\\uFB44\\uFB46-\\uFBB1\\uFBD3-\\uFD3D\\uFD50-\\uFD8F\\uFD92-\\uFDC7' +
  '\\uFDF0-\\uFDFC\\uFE70-\\uFE74\\uFE76-\\uFEFC';
const RAND_AL_CAT = new RegExp(`[${RAND_AL_CAT_RANGES}]`, 'u');

/**
 * LCat: characters with bidi class L (RFC 3454 table D.2, about 360 ranges).
 * Approximation: JavaScript regexes have no Bidi_Class property, so we take
 * letters, spacing marks and letter numbers ([\p{L}\p{Mc}\p{Nl}]) outside the
 * right-to-left scripts. Measured against the Unicode 3.2 data this misses
 * class-L symbols and punctuation (Tibetan and Braille signs, Indic digits and
 * dandas) and wrongly includes about 20 modifier letters and marks (U+02B9..U+02CF,
 * U+02EC, U+0374, U+1734, U+2132, U+302E..U+302F). The rule only matters for
 * strings that contain RandALCat characters, and only decides accept/reject.
 */
const L_CAT_CANDIDATE = /[\p{L}\p{Mc}\p{Nl}]/u;
const RTL_SCRIPT = /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}]/u;

function isRandALCat(ch: string): boolean {
  return RAND_AL_CAT.test(ch);
}

function isLCat(ch: string): boolean {
  return L_CAT_CANDIDATE.test(ch) && !RTL_SCRIPT.test(ch) && !isRandALCat(ch);
}

/** RFC 3454 section 6, requirements 2 and 3 (requirement 1 is the C.8 prohibition above). */
function checkBidi(s: string): void {
  const chars = Array.from(s);
  if (!chars.some(isRandALCat)) return;
  if (chars.some(isLCat)) throw new SaslprepError('bidi');
  if (!isRandALCat(chars[0]!) || !isRandALCat(chars[chars.length - 1]!)) throw new SaslprepError('bidi');
}

export interface SaslprepOptions {
  /**
   * Prepare a "query" string, in which unassigned code points are allowed, rather
   * than a "stored" string (RFC 3454 section 7). Clients' user names and
   * passwords are queries (RFC 5802 section 5.1); passwords being stored are not.
   */
  allowUnassigned?: boolean;
}

/** Prepare `s` per RFC 4013. Throws SaslprepError on prohibited input. */
export function saslprep(s: string, opts: SaslprepOptions = {}): string {
  // Section 2.1 mapping, then section 2.2 normalization form KC.
  const mapped = s.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ');
  const normalized = mapped.normalize('NFKC');
  // Section 2.3 prohibited output.
  if (PROHIBITED.test(normalized)) throw new SaslprepError('prohibited');
  // Section 2.5 unassigned code points. Mapping and NFKC leave them untouched, so
  // checking the output is equivalent to checking the input; checking after the
  // prohibition lets non-characters (which are also \p{Cn}) report 'prohibited'.
  if (!opts.allowUnassigned && UNASSIGNED.test(normalized)) throw new SaslprepError('unassigned');
  // Section 2.4 bidirectional characters.
  checkBidi(normalized);
  return normalized;
}
