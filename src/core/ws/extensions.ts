/**
 * The `Sec-WebSocket-Extensions` header (RFC 6455 §9.1), parsed and written.
 *
 * RFC 6455 §9.1 grammar:
 *
 *   Sec-WebSocket-Extensions = extension-list
 *   extension-list = 1#extension
 *   extension = extension-token *( ";" extension-param )
 *   extension-token = registered-token
 *   registered-token = token
 *   extension-param = token [ "=" (token | quoted-string) ]
 *     ;When using the quoted-string syntax variant, the value
 *     ;after quoted-string unescaping MUST conform to the
 *     ;'token' ABNF.
 *
 * `token` and `quoted-string` are those of RFC 7230 §3.2.6. Optional
 * whitespace (SP / HTAB) is allowed around every separator (RFC 7230 §7 for
 * the list, "implied *LWS" of RFC 2616 §2.1 that RFC 6455 §9.1 was written
 * against for the rest).
 *
 * This module knows nothing about any particular extension: names and
 * parameters come back exactly as written (case preserved, quoted values
 * unescaped). Meaning is given by the extension's own module
 * (permessage-deflate: `core/deflate/negotiate.ts`).
 *
 * Sans-I/O: strings in, strings out.
 */
import { handshakeError } from './errors.js';

/** One extension with its parameters, in header order. */
export interface ExtensionOffer {
  /** Extension token, as written (e.g. `permessage-deflate`). */
  name: string;
  /**
   * Parameters in header order; `true` for a parameter without a value.
   * Quoted values come back unescaped (`x="10"` → `['x', '10']`).
   * Duplicates are kept: whether they are allowed is the extension's business.
   */
  params: Array<[name: string, value: string | true]>;
}

// RFC 7230 §3.2.6:
//   token = 1*tchar
//   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
//           "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** True when `code` is an RFC 7230 §3.2.6 `tchar`. */
export function isTokenChar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

/**
 * True when `s` is an RFC 7230 §3.2.6 `token` (one or more `tchar`). Header
 * names, extension names, parameter names and subprotocol names are tokens;
 * a token can never contain whitespace, CR or LF.
 */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    if (!isTokenChar(s.charCodeAt(i))) return false;
  }
  return true;
}

const SP = 0x20;
const HTAB = 0x09;
const COMMA = 0x2c;
const SEMI = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

function syntaxError(header: string, i: number, what: string) {
  const at = i < header.length ? `${JSON.stringify(header[i])} at index ${i}` : 'end of header';
  return handshakeError(
    'WS_ERR_INVALID_EXTENSION',
    `Invalid Sec-WebSocket-Extensions header: ${what}, found ${at}`,
    400,
  );
}

/**
 * Parse a `Sec-WebSocket-Extensions` value into extensions in header order
 * (RFC 6455 §9.1). When a request or response carries the header on several
 * lines, join them with `", "` first (RFC 7230 §3.2.2): the result is the
 * same list.
 *
 * Empty list elements (`"a, , b"`, a trailing comma, an empty header) are
 * skipped, as RFC 7230 §7 asks of recipients; an empty header gives `[]`.
 *
 * @throws WebSocketError `WS_ERR_INVALID_EXTENSION` (status 400) on any
 *   syntax error: a missing or non-token name, a parameter without a name,
 *   `=` without a value, an unterminated quoted-string, a quoted value that is
 *   not a token once unescaped (§9.1), or a stray character.
 *
 * @example
 * ```ts
 * parseExtensions('permessage-deflate; client_max_window_bits, x-foo; a="1"');
 * // [{ name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
 * //  { name: 'x-foo', params: [['a', '1']] }]
 * ```
 */
export function parseExtensions(header: string): ExtensionOffer[] {
  const out: ExtensionOffer[] = [];
  const n = header.length;
  let i = 0;

  const skipOws = (): void => {
    while (i < n) {
      const c = header.charCodeAt(i);
      if (c !== SP && c !== HTAB) break;
      i++;
    }
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && isTokenChar(header.charCodeAt(i))) i++;
    return header.slice(start, i);
  };
  // RFC 7230 §3.2.6:
  //   quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
  //   qdtext        = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
  //   quoted-pair   = "\" ( HTAB / SP / VCHAR / obs-text )
  const readQuoted = (): string => {
    const open = i;
    i++; // opening DQUOTE
    let value = '';
    for (;;) {
      if (i >= n) throw syntaxError(header, i, `unterminated quoted-string opened at index ${open}`);
      const c = header.charCodeAt(i);
      if (c === DQUOTE) {
        i++;
        break;
      }
      if (c === BACKSLASH) {
        i++;
        if (i >= n) throw syntaxError(header, i, `unterminated quoted-string opened at index ${open}`);
        const e = header.charCodeAt(i);
        if (!(e === HTAB || (e >= 0x20 && e !== 0x7f && e <= 0xff))) {
          throw syntaxError(header, i, 'a character that cannot be escaped');
        }
        value += header[i];
        i++;
        continue;
      }
      if (!(c === HTAB || (c >= 0x20 && c !== 0x7f && c <= 0xff))) {
        throw syntaxError(header, i, 'a character not allowed in a quoted-string');
      }
      value += header[i];
      i++;
    }
    // §9.1: "the value after quoted-string unescaping MUST conform to the
    // 'token' ABNF".
    if (!isToken(value)) {
      throw syntaxError(header, open, `quoted value ${JSON.stringify(value)} is not a token`);
    }
    return value;
  };

  for (;;) {
    skipOws();
    if (i >= n) break;
    if (header.charCodeAt(i) === COMMA) {
      // RFC 7230 §7: "a recipient MUST parse and ignore a reasonable number
      // of empty list elements".
      i++;
      continue;
    }
    const name = readToken();
    if (name === '') throw syntaxError(header, i, 'expected an extension name');
    const params: ExtensionOffer['params'] = [];
    skipOws();
    while (i < n && header.charCodeAt(i) === SEMI) {
      i++;
      skipOws();
      const pname = readToken();
      if (pname === '') throw syntaxError(header, i, `expected a parameter name for extension ${name}`);
      skipOws();
      let value: string | true = true;
      if (i < n && header.charCodeAt(i) === EQUALS) {
        i++;
        skipOws();
        if (i < n && header.charCodeAt(i) === DQUOTE) {
          value = readQuoted();
        } else {
          value = readToken();
          if (value === '') throw syntaxError(header, i, `expected a value for parameter ${pname}`);
        }
        skipOws();
      }
      params.push([pname, value]);
    }
    if (i < n && header.charCodeAt(i) !== COMMA) {
      throw syntaxError(header, i, 'expected ";" or ","');
    }
    out.push({ name, params });
  }
  return out;
}

/**
 * Write extensions as a `Sec-WebSocket-Extensions` value:
 * `name; flag; key=value, other`. Values are written as bare tokens (a token
 * never needs quoting; §9.1 requires quoted values to be tokens anyway).
 *
 * @throws TypeError when a name or value is not an RFC 7230 token. This also
 *   keeps CR, LF and other control characters out of the header (header
 *   injection).
 */
export function formatExtensions(exts: readonly ExtensionOffer[]): string {
  return exts
    .map((ext) => {
      if (!isToken(ext.name)) throw new TypeError(`Invalid extension name: ${JSON.stringify(ext.name)}`);
      let s = ext.name;
      for (const [k, v] of ext.params) {
        if (!isToken(k)) throw new TypeError(`Invalid extension parameter name: ${JSON.stringify(k)}`);
        if (v === true) {
          s += `; ${k}`;
        } else {
          if (typeof v !== 'string' || !isToken(v)) {
            throw new TypeError(`Invalid value for extension parameter ${k}: ${JSON.stringify(v)}`);
          }
          s += `; ${k}=${v}`;
        }
      }
      return s;
    })
    .join(', ');
}
