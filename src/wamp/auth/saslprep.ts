/**
 * SASLprep (RFC 4013), the stringprep (RFC 3454) profile WAMP-SCRAM uses to
 * normalize usernames and passwords ("Username/Password String Normalization").
 *
 * Implemented from the RFC tables, with two approximations stated here:
 * - unassigned code points (RFC 3454 table A.1) are judged by the runtime's
 *   Unicode version (`\p{Cn}`), not Unicode 3.2: a character assigned after 3.2
 *   passes here and is rejected by a strict Unicode-3.2 implementation;
 * - for the bidi rule (RFC 3454 §6) "LCat" (table D.2) is taken as any letter or
 *   spacing mark that is not RandALCat (table D.1, listed in full below).
 * For ASCII input both are moot: SASLprep of printable ASCII is the identity.
 *
 * @internal
 * @module
 */

// RFC 3454 B.1: commonly mapped to nothing.
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu;
// RFC 3454 C.1.2: non-ASCII space characters, mapped to SPACE (RFC 4013 §2.1).
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu;
// RFC 4013 §2.3 prohibited output: C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9.
const PROHIBITED = new RegExp(
  [
    '[\\u00A0\\u1680\\u2000-\\u200B\\u202F\\u205F\\u3000]', // C.1.2
    '[\\u0000-\\u001F\\u007F]', // C.2.1
    '[\\u0080-\\u009F\\u06DD\\u070F\\u180E\\u200C\\u200D\\u2028\\u2029\\u2060-\\u2063\\u206A-\\u206F\\uFEFF\\uFFF9-\\uFFFC\\u{1D173}-\\u{1D17A}]', // C.2.2
    '[\\uE000-\\uF8FF\\u{F0000}-\\u{FFFFD}\\u{100000}-\\u{10FFFD}]', // C.3
    '[\\uFDD0-\\uFDEF\\uFFFE\\uFFFF\\u{1FFFE}\\u{1FFFF}\\u{2FFFE}\\u{2FFFF}\\u{3FFFE}\\u{3FFFF}\\u{4FFFE}\\u{4FFFF}\\u{5FFFE}\\u{5FFFF}\\u{6FFFE}\\u{6FFFF}\\u{7FFFE}\\u{7FFFF}\\u{8FFFE}\\u{8FFFF}\\u{9FFFE}\\u{9FFFF}\\u{AFFFE}\\u{AFFFF}\\u{BFFFE}\\u{BFFFF}\\u{CFFFE}\\u{CFFFF}\\u{DFFFE}\\u{DFFFF}\\u{EFFFE}\\u{EFFFF}\\u{FFFFE}\\u{FFFFF}\\u{10FFFE}\\u{10FFFF}]', // C.4
    '[\\uD800-\\uDFFF]', // C.5 (lone surrogates; pairs are matched as code points by the u flag)
    '[\\uFFF9-\\uFFFD]', // C.6
    '[\\u2FF0-\\u2FFB]', // C.7
    '[\\u0340\\u0341\\u200E\\u200F\\u202A-\\u202E\\u206A-\\u206F]', // C.8
    '[\\u{E0001}\\u{E0020}-\\u{E007F}]', // C.9
    '\\p{Cn}', // A.1 (see the module note)
  ].join('|'),
  'u',
);
// RFC 3454 D.1: characters with bidirectional property "R" or "AL".
const RAND_AL_CAT =
  '\\u05BE\\u05C0\\u05C3\\u05D0-\\u05EA\\u05F0-\\u05F4\\u061B\\u061F\\u0621-\\u063A\\u0640-\\u064A\\u066D-\\u066F' +
  '\\u0671-\\u06D5\\u06DD\\u06E5\\u06E6\\u06FA-\\u06FE\\u0700-\\u070D\\u0710\\u0712-\\u072C\\u0780-\\u07A5\\u07B1' +
  '\\u200F\\uFB1D\\uFB1F-\\uFB28\\uFB2A-\\uFB36\\uFB38-\\uFB3C\\uFB3E\\uFB40\\uFB41\\uFB43\\uFB44\\uFB46-\\uFBB1' +
  '\\uFBD3-\\uFD3D\\uFD50-\\uFD8F\\uFD92-\\uFDC7\\uFDF0-\\uFDFC\\uFE70-\\uFE74\\uFE76-\\uFEFC';
const HAS_RAND_AL = new RegExp(`[${RAND_AL_CAT}]`, 'u');
const HAS_L = new RegExp(`(?![${RAND_AL_CAT}])[\\p{L}\\p{Mc}]`, 'u');
const STARTS_ENDS_RAND_AL = new RegExp(`^[${RAND_AL_CAT}](?:.*[${RAND_AL_CAT}])?$`, 'su');

/**
 * Applies SASLprep: map (RFC 4013 §2.1), normalize NFKC (§2.2), reject
 * prohibited output (§2.3) and bad bidi strings (§2.4).
 *
 * @param input - a username or password
 * @returns the prepared string
 * @throws RangeError naming the rule that rejected the input (never echoing the input)
 */
export function saslprep(input: string): string {
  const mapped = input.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ');
  const out = mapped.normalize('NFKC');
  if (PROHIBITED.test(out)) throw new RangeError('SASLprep: the string contains a prohibited or unassigned character');
  if (HAS_RAND_AL.test(out) && (HAS_L.test(out) || !STARTS_ENDS_RAND_AL.test(out))) {
    throw new RangeError('SASLprep: the string violates the bidirectional text rule (RFC 3454 §6)');
  }
  return out;
}
