/**
 * The opening handshake (RFC 6455 §4), sans-I/O: bytes and strings in,
 * strings out. The HTTP/1.1 subset is RFC 7230's.
 *
 *   server: HttpHeadParser ─► parseUpgradeRequest ─► (application decides)
 *           ─► buildAcceptResponse / buildRejectResponse
 *   client: generateKey ─► buildUpgradeRequest ─► HttpHeadParser
 *           ─► validateUpgradeResponse
 *
 * SHA-1 is injectable (`computeAccept`): the default is @noble/hashes, which
 * runs everywhere; a Node adapter may pass `node:crypto`'s.
 *
 * The strings returned are ASCII when their inputs are; encode them as UTF-8
 * (the only non-ASCII that can appear is in a reject body or in header
 * values given by the application).
 *
 * Every header we write is checked: names must be tokens and values must not
 * contain CR, LF or other control characters (TypeError otherwise), so user
 * input cannot inject headers or a body.
 */
import { sha1 as nobleSha1 } from '@noble/hashes/legacy.js';
import { WS_GUID } from './constants.js';
import { handshakeError } from './errors.js';
import { type ExtensionOffer, isToken, parseExtensions } from './extensions.js';

// ---------------------------------------------------------------- HTTP head

/** A parsed HTTP/1.x request or response head. */
export interface HttpHead {
  /**
   * Request: `[method, request-target, HTTP-version]`.
   * Response: `[HTTP-version, status-code, reason-phrase]`.
   */
  startLine: [string, string, string];
  /** Lower-case names; repeated fields joined with `", "` (RFC 7230 §3.2.2). */
  headers: Map<string, string>;
  /**
   * Fields as received (name case kept, value trimmed), in order, flat:
   * `[name, value, name, value, ...]` as node:http's `rawHeaders`.
   */
  rawHeaders: string[];
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

const HTTP_VERSION = /^HTTP\/(\d)\.(\d)$/;

function badHead(message: string) {
  return handshakeError('WS_ERR_HANDSHAKE_INVALID', message, 400);
}

const asciiDecoder = new TextDecoder('utf-8');

/**
 * Bytes → string, one char per byte (ISO-8859-1), as HTTP/1.1 heads are.
 * `ascii` (all bytes < 0x80, the usual case) takes the native decoder:
 * for ASCII, UTF-8 and ISO-8859-1 agree.
 */
function latin1(bytes: Uint8Array, ascii = false): string {
  if (ascii) return asciiDecoder.decode(bytes);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x2000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x2000) as unknown as number[]);
  }
  return s;
}

/**
 * Is every char a field-value char: VCHAR / obs-text / SP / HTAB
 * (RFC 7230 §3.2)? Rejects CR, LF, NUL, DEL and other controls.
 */
function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === HTAB) continue;
    if (c < 0x20 || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === SP || s.charCodeAt(a) === HTAB)) a++;
  while (b > a && (s.charCodeAt(b - 1) === SP || s.charCodeAt(b - 1) === HTAB)) b--;
  return s.slice(a, b);
}

/**
 * Parses a complete HTTP/1.x head (start line and header fields, as latin1
 * text ending in CRLF CRLF), as {@link HttpHeadParser} does.
 *
 * @throws WebSocketError `WS_ERR_HANDSHAKE_INVALID` (400) for a malformed head
 */
export function parseHead(text: string): HttpHead {
  // RFC 7230 §3: HTTP-message = start-line *( header-field CRLF ) CRLF
  const lines = text.split('\r\n');
  // `text` ends with CRLFCRLF: the split leaves two empty strings at the end.
  lines.length -= 2;
  for (const line of lines) {
    // A bare CR or LF inside a line is not a line ending we accept; treating
    // it as one (or not) differently from a proxy is request smuggling.
    if (line.includes('\r') || line.includes('\n')) throw badHead('Malformed HTTP head: bare CR or LF');
  }
  const first = lines[0] ?? '';
  let startLine: [string, string, string];
  if (first.startsWith('HTTP/')) {
    // RFC 7230 §3.1.2: status-line = HTTP-version SP status-code SP reason-phrase
    const sp1 = first.indexOf(' ');
    const version = sp1 < 0 ? first : first.slice(0, sp1);
    const rest = sp1 < 0 ? '' : first.slice(sp1 + 1);
    const sp2 = rest.indexOf(' ');
    // The reason phrase may be empty, and some servers drop its SP too.
    const status = sp2 < 0 ? rest : rest.slice(0, sp2);
    const reason = sp2 < 0 ? '' : rest.slice(sp2 + 1);
    if (!HTTP_VERSION.test(version) || !/^\d{3}$/.test(status) || !isFieldValue(reason)) {
      throw badHead(`Malformed HTTP status line: ${JSON.stringify(first.slice(0, 100))}`);
    }
    startLine = [version, status, reason];
  } else {
    // RFC 7230 §3.1.1: request-line = method SP request-target SP HTTP-version
    const parts = first.split(' ');
    const [method = '', target = '', version = ''] = parts;
    if (parts.length !== 3 || !isToken(method) || !isRequestTarget(target) || !HTTP_VERSION.test(version)) {
      throw badHead(`Malformed HTTP request line: ${JSON.stringify(first.slice(0, 100))}`);
    }
    startLine = [method, target, version];
  }

  const headers = new Map<string, string>();
  const rawHeaders: string[] = [];
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k] as string;
    const c0 = line.charCodeAt(0);
    if (c0 === SP || c0 === HTAB) {
      // RFC 7230 §3.2.4: "A server that receives an obs-fold in a request
      // message ... MUST either reject the message by sending a 400 (Bad
      // Request) ... or replace each received obs-fold with one or more SP".
      throw badHead('Malformed HTTP header: obsolete line folding');
    }
    const colon = line.indexOf(':');
    // RFC 7230 §3.2: header-field = field-name ":" OWS field-value OWS.
    // §3.2.4: "No whitespace is allowed between the header field-name and
    // colon" (a token cannot contain whitespace, so isToken covers it).
    const name = colon < 0 ? '' : line.slice(0, colon);
    if (!isToken(name)) {
      throw badHead(`Malformed HTTP header line: ${JSON.stringify(line.slice(0, 100))}`);
    }
    const value = trimOws(line.slice(colon + 1));
    if (!isFieldValue(value)) throw badHead(`Invalid character in HTTP header ${name}`);
    rawHeaders.push(name, value);
    const key = name.toLowerCase();
    const prev = headers.get(key);
    headers.set(key, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { startLine, headers, rawHeaders };
}

function isRequestTarget(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/**
 * Accumulates bytes until the end of an HTTP/1.x head (CRLF CRLF), then
 * parses it. Input may be split anywhere. What follows the head in the same
 * chunk (the first WebSocket frames, say) comes back as `rest`, and the head
 * itself as latin1 `text` (one string: the compact form to keep).
 *
 * At most `maxSize` bytes of head are buffered (the CRLFCRLF included):
 * the push that would go past it throws `WS_ERR_HANDSHAKE_TOO_BIG` (431,
 * RFC 6585 §5), having copied nothing beyond the limit.
 *
 * After a head is returned the parser is ready for the next one (a proxy's
 * CONNECT response, then the upgrade response). After an error it throws the
 * same error on every push.
 *
 * @example
 * ```ts
 * const parser = new HttpHeadParser(16 * 1024);
 * socket.on('data', (chunk) => {
 *   const done = parser.push(chunk);
 *   if (done) handle(done.head, done.rest);
 * });
 * ```
 */
export class HttpHeadParser {
  readonly maxSize: number;
  /** Earlier chunks of a head split across reads (usually none: created on the first split). */
  #chunks: Uint8Array[] | null = null;
  #size = 0;
  /** How many bytes of CR LF CR LF have been matched so far (0..3). */
  #matched = 0;
  /** OR of every byte buffered so far (ASCII when < 0x80). */
  #high = 0;
  #error: Error | null = null;

  /** @param maxSize largest head accepted, in bytes (e.g. `DEFAULT_LIMITS.maxHandshakeSize`). */
  constructor(maxSize: number) {
    if (!Number.isInteger(maxSize) || maxSize < 4) {
      throw new RangeError(`maxSize must be an integer >= 4, got ${String(maxSize)}`);
    }
    this.maxSize = maxSize;
  }

  /**
   * Feed bytes. Returns null while the head is incomplete.
   * @throws WebSocketError `WS_ERR_HANDSHAKE_TOO_BIG` (431) past `maxSize`;
   *   `WS_ERR_HANDSHAKE_INVALID` (400) for a malformed head.
   */
  push(chunk: Uint8Array): { head: HttpHead; rest: Uint8Array; text: string } | null {
    if (this.#error) throw this.#error;
    let m = this.#matched;
    let end = -1;
    let high = this.#high;
    const room = this.maxSize - this.#size;
    const scan = Math.min(chunk.length, room);
    for (let i = 0; i < scan; i++) {
      const b = chunk[i] as number;
      high |= b;
      // Match CR LF CR LF; on a mismatch a CR can still start a new match.
      if (b === ((m & 1) === 0 ? CR : LF)) {
        if (++m === 4) {
          end = i + 1;
          break;
        }
      } else {
        m = b === CR ? 1 : 0;
      }
    }
    if (end < 0) {
      if (chunk.length > room) {
        this.#error = handshakeError(
          'WS_ERR_HANDSHAKE_TOO_BIG',
          `HTTP head larger than ${this.maxSize} bytes`,
          431,
        );
        this.#chunks = null;
        throw this.#error;
      }
      this.#matched = m;
      this.#high = high;
      if (chunk.length > 0) {
        // Copy: the caller may reuse its buffer.
        (this.#chunks ??= []).push(chunk.slice());
        this.#size += chunk.length;
      }
      return null;
    }

    let bytes: Uint8Array;
    const chunks = this.#chunks;
    if (chunks === null || chunks.length === 0) {
      // The whole head came in this chunk (the usual case): no copy.
      bytes = chunk.subarray(0, end);
    } else {
      bytes = new Uint8Array(this.#size + end);
      let off = 0;
      for (const c of chunks) {
        bytes.set(c, off);
        off += c.length;
      }
      bytes.set(chunk.subarray(0, end), off);
      this.#chunks = null;
    }
    this.#size = 0;
    this.#matched = 0;
    this.#high = 0;
    let head: HttpHead;
    const text = latin1(bytes, high < 0x80);
    try {
      head = parseHead(text);
    } catch (err) {
      this.#error = err as Error;
      throw err;
    }
    return { head, rest: chunk.subarray(end), text };
  }
}

// ---------------------------------------------------------------- shared

const utf8Encoder = new TextEncoder();

/**
 * `Sec-WebSocket-Accept` for a key (RFC 6455 §4.2.2 step 5.4): base64 of the
 * SHA-1 of the key (as sent, in ASCII) followed by the GUID of §1.3.
 *
 * @param sha1 a SHA-1 implementation; default `@noble/hashes`.
 * @example computeAccept('dGhlIHNhbXBsZSBub25jZQ==') === 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
 */
export function computeAccept(key: string, sha1: (data: Uint8Array) => Uint8Array = nobleSha1): string {
  return toBase64(sha1(utf8Encoder.encode(key + WS_GUID)));
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** RFC 4648 §4 base64 with padding. */
function toBase64(bytes: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    s += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63] + B64[n & 63];
  }
  const left = bytes.length - i;
  if (left === 1) {
    const n = bytes[i] << 16;
    s += B64[n >>> 18] + B64[(n >>> 12) & 63] + '==';
  } else if (left === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    s += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63] + '=';
  }
  return s;
}

// §4.1: "a randomly selected 16-byte value that has been base64-encoded";
// 16 bytes are 22 base64 digits and "==". (Like ws, the unused low bits of the
// last digit are not checked.)
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** Split a comma-separated header into trimmed, non-empty elements (RFC 7230 §7). */
function splitList(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = trimOws(part);
    if (t !== '') out.push(t);
  }
  return out;
}

function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  return splitList(value).some((t) => t.toLowerCase() === token);
}

type HeaderList = Array<[string, string]> | Record<string, string>;

function headerEntries(headers: HeaderList | undefined): Array<[string, string]> {
  if (headers === undefined) return [];
  return Array.isArray(headers) ? headers : Object.entries(headers);
}

/** Check a header we are about to write (header injection, RFC 7230 §3.2). */
function checkHeader(name: string, value: string): void {
  if (typeof name !== 'string' || !isToken(name)) {
    throw new TypeError(`Invalid HTTP header name: ${JSON.stringify(name)}`);
  }
  if (typeof value !== 'string' || /[\0-\x08\x0a-\x1f\x7f]/.test(value)) {
    throw new TypeError(`Invalid value for HTTP header ${name}: ${JSON.stringify(value)}`);
  }
}

/**
 * Write header lines, refusing CR/LF and friends, and names already written
 * by the handshake itself (`reserved`, lower case).
 */
function writeHeaders(list: Array<[string, string]>, reserved: Set<string>): string {
  let s = '';
  for (const [name, value] of list) {
    checkHeader(name, value);
    const key = name.toLowerCase();
    if (reserved.has(key)) {
      throw new TypeError(`Header ${name} is set by the handshake and cannot be given in headers`);
    }
    s += `${name}: ${value}\r\n`;
  }
  return s;
}

// ---------------------------------------------------------------- server

/** A valid upgrade request, as `parseUpgradeRequest` found it. */
export interface ServerHandshakeRequest {
  /** The request-target (`/path?query`), undecoded. */
  path: string;
  /** `Sec-WebSocket-Key`, for `computeAccept`. */
  key: string;
  /** `Sec-WebSocket-Version`: 13 (RFC 6455) or 8 (hybi drafts 8–12). */
  version: 13 | 8;
  /** Subprotocols the client offers, in its order of preference. */
  protocols: string[];
  /** Every extension the client offers, in order (RFC 6455 §9.1). */
  extensions: ExtensionOffer[];
  /** `Origin` (version 13) or `Sec-WebSocket-Origin` (version 8); null if absent. */
  origin: string | null;
  /** All request headers (lower-case names). */
  headers: Map<string, string>;
}

/**
 * Check a client's opening handshake (RFC 6455 §4.2.1) and extract what the
 * server needs to answer it. Choosing a subprotocol, checking the origin and
 * negotiating extensions are left to the caller.
 *
 * @throws WebSocketError with the HTTP status to reject with
 *   (`buildRejectResponse(err.status)`): 405 `WS_ERR_HANDSHAKE_INVALID` for a
 *   method other than GET; 426 `WS_ERR_UNSUPPORTED_VERSION` for a
 *   `Sec-WebSocket-Version` other than 13 or 8; 400 for everything else
 *   (`WS_ERR_INVALID_SUBPROTOCOL` for a bad `Sec-WebSocket-Protocol`,
 *   `WS_ERR_INVALID_EXTENSION` for a bad `Sec-WebSocket-Extensions`,
 *   `WS_ERR_HANDSHAKE_INVALID` otherwise).
 */
export function parseUpgradeRequest(head: HttpHead): ServerHandshakeRequest {
  const [method, path, version] = head.startLine;
  const h = head.headers;
  if (method.startsWith('HTTP/')) throw badHead('Expected an HTTP request, got a response');
  // §4.2.1 item 1: "An HTTP/1.1 or higher GET request". RFC 7231 §6.5.5:
  // 405 is the status for a method the resource does not support.
  if (method !== 'GET') {
    throw handshakeError('WS_ERR_HANDSHAKE_INVALID', `Invalid HTTP method ${method}: a WebSocket upgrade is a GET`, 405);
  }
  const v = HTTP_VERSION.exec(version);
  if (!v || Number(v[1]) * 10 + Number(v[2]) < 11) {
    throw badHead(`Invalid HTTP version ${version}: a WebSocket upgrade needs HTTP/1.1 or higher`);
  }
  // §4.2.1 item 2: "A |Host| header field containing the server's authority."
  // RFC 7230 §5.4: "A server MUST respond with a 400 (Bad Request) status
  // code to any HTTP/1.1 request message that lacks a Host header field and
  // to any request message that contains more than one Host header field".
  if (!h.get('host')) throw badHead('Missing Host header');
  let hosts = 0;
  const raw = head.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as string;
    if (n.length === 4 && n.toLowerCase() === 'host') hosts++;
  }
  if (hosts > 1) throw badHead('More than one Host header');
  // §4.2.1 item 3: "An |Upgrade| header field containing the value
  // "websocket", treated as an ASCII case-insensitive value."
  if (!hasToken(h.get('upgrade'), 'websocket')) throw badHead('Missing or invalid Upgrade header: expected websocket');
  // §4.2.1 item 4: "A |Connection| header field that includes the token
  // "Upgrade", treated as an ASCII case-insensitive value."
  if (!hasToken(h.get('connection'), 'upgrade')) {
    throw badHead('Missing or invalid Connection header: expected the token Upgrade');
  }
  // §4.2.1 item 5: "A |Sec-WebSocket-Key| header field with a base64-encoded
  // value that, when decoded, is 16 bytes in length."
  const key = h.get('sec-websocket-key');
  if (key === undefined || !KEY.test(key)) throw badHead('Missing or invalid Sec-WebSocket-Key header');
  // §4.2.1 item 6: "A |Sec-WebSocket-Version| header field, with a value of
  // 13." Hybi drafts 8 to 12 send 8 and speak the same framing.
  const ver = h.get('sec-websocket-version');
  if (ver === undefined) throw badHead('Missing Sec-WebSocket-Version header');
  if (ver !== '13' && ver !== '8') {
    // §4.2.2 step 4 / §4.4: "send an appropriate HTTP error code (such as
    // 426 Upgrade Required) and a |Sec-WebSocket-Version| header field
    // indicating the version(s) the server is capable of understanding".
    throw handshakeError(
      'WS_ERR_UNSUPPORTED_VERSION',
      `Unsupported Sec-WebSocket-Version ${JSON.stringify(ver.slice(0, 20))}: 13 or 8 expected`,
      426,
    );
  }
  const wsVersion = ver === '13' ? 13 : 8;

  // §4.2.1 item 8: "Optionally, a |Sec-WebSocket-Protocol| header field, with
  // a list of values indicating which protocols the client would like to
  // speak, ordered by preference." §4.1: elements are tokens, and "MUST all
  // be unique strings".
  const protocols: string[] = [];
  const protoHeader = h.get('sec-websocket-protocol');
  if (protoHeader !== undefined) {
    for (const p of splitList(protoHeader)) {
      if (!isToken(p)) {
        throw handshakeError('WS_ERR_INVALID_SUBPROTOCOL', `Invalid subprotocol ${JSON.stringify(p.slice(0, 100))}`, 400);
      }
      if (protocols.includes(p)) {
        throw handshakeError('WS_ERR_INVALID_SUBPROTOCOL', `Duplicate subprotocol ${JSON.stringify(p)}`, 400);
      }
      protocols.push(p);
    }
  }

  // §4.2.1 item 9: "Optionally, a |Sec-WebSocket-Extensions| header field".
  const extHeader = h.get('sec-websocket-extensions');
  const extensions = extHeader === undefined ? [] : parseExtensions(extHeader);

  // §4.2.1 item 7 (and §10.2): Origin for browsers; the hybi drafts before
  // version 13 named it Sec-WebSocket-Origin.
  const origin = (wsVersion === 13 ? h.get('origin') : (h.get('sec-websocket-origin') ?? h.get('origin'))) ?? null;

  return { path, key, version: wsVersion, protocols, extensions, origin, headers: h };
}

const ACCEPT_RESERVED = new Set([
  'upgrade',
  'connection',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

/**
 * The server's 101 response (RFC 6455 §4.2.2 step 5), ending with the blank
 * line. `accept` is `computeAccept(request.key)`; `protocol` must be one the
 * client offered (§4.2.2 step 5.5 — not checked here); `extensions` is the
 * formatted `Sec-WebSocket-Extensions` value (e.g.
 * `formatExtensions([negotiateDeflate(...).response])`).
 *
 * @throws TypeError for an invalid accept value, a non-token protocol, CR/LF
 *   or control characters in any value, or extra headers that the handshake
 *   writes itself.
 */
export function buildAcceptResponse(opts: {
  accept: string;
  protocol?: string;
  extensions?: string;
  headers?: Array<[string, string]>;
}): string {
  if (!/^[A-Za-z0-9+/]{27}=$/.test(opts.accept)) {
    throw new TypeError(`Invalid Sec-WebSocket-Accept value: ${JSON.stringify(opts.accept)}`);
  }
  let s =
    'HTTP/1.1 101 Switching Protocols\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${opts.accept}\r\n`;
  if (opts.protocol !== undefined && opts.protocol !== '') {
    // §4.2.2 step 5.5: a single value, a token (§4.1).
    if (!isToken(opts.protocol)) throw new TypeError(`Invalid subprotocol: ${JSON.stringify(opts.protocol)}`);
    s += `Sec-WebSocket-Protocol: ${opts.protocol}\r\n`;
  }
  if (opts.extensions !== undefined && opts.extensions !== '') {
    checkHeader('Sec-WebSocket-Extensions', opts.extensions);
    s += `Sec-WebSocket-Extensions: ${opts.extensions}\r\n`;
  }
  s += writeHeaders(opts.headers ?? [], ACCEPT_RESERVED);
  return s + '\r\n';
}

/** Reason phrases (RFC 7231 §6.1, RFC 6585) for the statuses a handshake is rejected with. */
const REASONS: Record<number, string> = {
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

const REJECT_RESERVED = new Set(['connection', 'content-length', 'transfer-encoding']);

/**
 * A complete non-101 response that refuses the upgrade (RFC 6455 §4.2.2:
 * "the server MUST ... send an appropriate HTTP error code"), with
 * `Connection: close` and a `Content-Length` body (default: the reason
 * phrase) — the caller then closes the connection.
 *
 * Status-specific headers are added: `Upgrade: websocket` and
 * `Sec-WebSocket-Version: 13, 8` on 426 (RFC 7231 §6.5.15, RFC 6455 §4.4),
 * `Allow: GET` on 405 (RFC 7231 §6.5.5). `Content-Type: text/plain;
 * charset=utf-8` unless `headers` has a Content-Type.
 *
 * @param status an integer 300..599 (a 101 is `buildAcceptResponse`).
 * @throws TypeError for another status, CR/LF or control characters in a
 *   header, or `Connection`, `Content-Length` or `Transfer-Encoding` in
 *   `headers` (the response frames its own body).
 */
export function buildRejectResponse(status: number, opts: { headers?: Array<[string, string]>; body?: string } = {}): string {
  if (!Number.isInteger(status) || status < 300 || status > 599) {
    throw new TypeError(`Invalid status for a rejected handshake: ${String(status)}`);
  }
  const reason = REASONS[status] ?? (status < 400 ? 'Redirection' : status < 500 ? 'Client Error' : 'Server Error');
  const body = opts.body ?? reason;
  const extra = opts.headers ?? [];
  const special: Array<[string, string]> = [];
  if (status === 426) special.push(['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13, 8']);
  if (status === 405) special.push(['Allow', 'GET']);
  const given = new Set(extra.map(([n]) => String(n).toLowerCase()));
  let s = `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n`;
  // Extra headers override the status-specific ones of the same name.
  s += writeHeaders(
    special.filter(([n]) => !given.has(n.toLowerCase())),
    REJECT_RESERVED,
  );
  s += writeHeaders(extra, REJECT_RESERVED);
  if (!given.has('content-type')) s += 'Content-Type: text/plain; charset=utf-8\r\n';
  s += `Content-Length: ${new TextEncoder().encode(body).length}\r\n\r\n`;
  return s + body;
}

// ---------------------------------------------------------------- client

/**
 * A fresh `Sec-WebSocket-Key` (RFC 6455 §4.1: "a nonce consisting of a
 * randomly selected 16-byte value that has been base64-encoded"; "MUST be
 * selected randomly for each connection").
 *
 * @param random fills its argument with unpredictable bytes, e.g.
 *   `(b) => crypto.getRandomValues(b)`.
 */
export function generateKey(random: (out: Uint8Array) => void): string {
  const bytes = new Uint8Array(16);
  random(bytes);
  return toBase64(bytes);
}

/**
 * The client's opening handshake (RFC 6455 §4.1), ending with the blank line.
 *
 * - `host`: the `Host` value, `host[:port]` (omit the default port).
 * - `path`: the resource name, `/path?query` (§3); must start with `/`.
 * - `key`: from `generateKey`.
 * - `version`: 13 (default), or 8 to talk to a hybi-08..12 server.
 * - `protocols`: subprotocols by preference; tokens, unique.
 * - `extensions`: a formatted `Sec-WebSocket-Extensions` value.
 * - `origin`: sent as `Origin` (as `Sec-WebSocket-Origin` for version 8).
 * - `authorization`: sent as `Authorization` (e.g. `Basic …`, `Bearer …`).
 * - `headers`: more headers; the ones above cannot be repeated there.
 *
 * @throws TypeError on an invalid value: a path not starting with `/` or
 *   containing spaces or controls, an invalid key, a non-token or duplicate
 *   protocol, CR/LF or control characters anywhere (header injection).
 */
export function buildUpgradeRequest(opts: {
  host: string;
  path: string;
  key: string;
  version?: 13 | 8;
  protocols?: string[];
  extensions?: string;
  origin?: string;
  headers?: Array<[string, string]> | Record<string, string>;
  authorization?: string;
}): string {
  const version = opts.version ?? 13;
  if (version !== 13 && version !== 8) throw new TypeError(`Unsupported WebSocket version ${String(version)}`);
  if (typeof opts.path !== 'string' || !opts.path.startsWith('/') || !isRequestTarget(opts.path)) {
    throw new TypeError(`Invalid request path: ${JSON.stringify(opts.path)}`);
  }
  if (typeof opts.host !== 'string' || !isRequestTarget(opts.host)) {
    throw new TypeError(`Invalid Host: ${JSON.stringify(opts.host)}`);
  }
  if (typeof opts.key !== 'string' || !KEY.test(opts.key)) {
    throw new TypeError(`Invalid Sec-WebSocket-Key: ${JSON.stringify(opts.key)}`);
  }
  const reserved = new Set(['host', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version']);
  let s =
    `GET ${opts.path} HTTP/1.1\r\n` +
    `Host: ${opts.host}\r\n` +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${opts.key}\r\n` +
    `Sec-WebSocket-Version: ${version}\r\n`;
  const own: Array<[string, string]> = [];
  if (opts.protocols !== undefined && opts.protocols.length > 0) {
    const seen = new Set<string>();
    for (const p of opts.protocols) {
      // §4.1: "The elements that comprise this value MUST be non-empty
      // strings with characters in the range U+0021 to U+007E not including
      // separator characters ... and MUST all be unique strings."
      if (typeof p !== 'string' || !isToken(p)) throw new TypeError(`Invalid subprotocol: ${JSON.stringify(p)}`);
      if (seen.has(p)) throw new TypeError(`Duplicate subprotocol: ${JSON.stringify(p)}`);
      seen.add(p);
    }
    own.push(['Sec-WebSocket-Protocol', opts.protocols.join(', ')]);
  }
  if (opts.extensions !== undefined && opts.extensions !== '') own.push(['Sec-WebSocket-Extensions', opts.extensions]);
  if (opts.origin !== undefined) own.push([version === 8 ? 'Sec-WebSocket-Origin' : 'Origin', opts.origin]);
  if (opts.authorization !== undefined) own.push(['Authorization', opts.authorization]);
  s += writeHeaders(own, reserved);
  for (const [n] of own) reserved.add(n.toLowerCase());
  s += writeHeaders(headerEntries(opts.headers), reserved);
  return s + '\r\n';
}

/**
 * Check the server's answer to our opening handshake (RFC 6455 §4.1, "the
 * client MUST validate the server's response as follows").
 *
 * - `key`: the key we sent.
 * - `protocols`: the subprotocols we offered (may be empty).
 * - `extensionsOffered`: whether we sent `Sec-WebSocket-Extensions`; or the
 *   names we offered, and each extension in the response must be one of them
 *   and appear once.
 * - `sha1`: for `computeAccept`.
 *
 * The server may pick no subprotocol even when we offered some (§4.1 step 6
 * only forbids one we did not offer): `protocol` is then `''`, and a caller
 * that needs one fails the connection itself.
 *
 * @returns the subprotocol (`''` for none), the extensions the server
 *   accepted (for the extension modules to validate, e.g.
 *   `acceptDeflateResponse`), and the response headers.
 * @throws WebSocketError (fail the connection): `WS_ERR_HANDSHAKE_REJECTED`
 *   for a status other than 101 (`err.status` is that status);
 *   `WS_ERR_HANDSHAKE_INVALID` for a bad Upgrade, Connection or
 *   Sec-WebSocket-Accept; `WS_ERR_INVALID_SUBPROTOCOL`;
 *   `WS_ERR_INVALID_EXTENSION`.
 */
export function validateUpgradeResponse(
  head: HttpHead,
  opts: {
    key: string;
    protocols: readonly string[];
    extensionsOffered: boolean | readonly string[];
    sha1?: (data: Uint8Array) => Uint8Array;
  },
): { protocol: string; extensions: ExtensionOffer[]; headers: Map<string, string> } {
  const [version, status, reason] = head.startLine;
  const h = head.headers;
  const v = HTTP_VERSION.exec(version);
  if (!v) throw badHead('Expected an HTTP response, got a request');
  if (Number(v[1]) * 10 + Number(v[2]) < 11) throw badHead(`Invalid HTTP version ${version} in the handshake response`);
  // §4.1: "If the status code received from the server is not 101, the
  // client handles the response per HTTP [RFC2616] procedures." We report
  // it; following redirects or answering 401 is the caller's business.
  if (status !== '101') {
    throw handshakeError(
      'WS_ERR_HANDSHAKE_REJECTED',
      `Server rejected the WebSocket upgrade: ${status} ${reason}`.trimEnd(),
      Number(status),
    );
  }
  // §4.1 step 2: "If the response lacks an |Upgrade| header field or the
  // |Upgrade| header field contains a value that is not an ASCII
  // case-insensitive match for the value "websocket", the client MUST _Fail
  // the WebSocket Connection_."
  if (h.get('upgrade')?.toLowerCase() !== 'websocket') {
    throw badHead('Missing or invalid Upgrade header in the handshake response');
  }
  // §4.1 step 3: "... |Connection| header field doesn't contain a token that
  // is an ASCII case-insensitive match for the value "Upgrade"".
  if (!hasToken(h.get('connection'), 'upgrade')) {
    throw badHead('Missing or invalid Connection header in the handshake response');
  }
  // §4.1 step 4: "If the response lacks a |Sec-WebSocket-Accept| header field
  // or the |Sec-WebSocket-Accept| contains a value other than the base64-
  // encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a
  // string, not base64-decoded) with the string
  // "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" ..."
  const accept = h.get('sec-websocket-accept');
  if (accept === undefined) throw badHead('Missing Sec-WebSocket-Accept header');
  if (accept !== computeAccept(opts.key, opts.sha1)) throw badHead('Invalid Sec-WebSocket-Accept header');

  // §4.1 step 5: "If the response includes a |Sec-WebSocket-Extensions|
  // header field and this header field indicates the use of an extension
  // that was not present in the client's handshake ... the client MUST _Fail
  // the WebSocket Connection_."
  let extensions: ExtensionOffer[] = [];
  const extHeader = h.get('sec-websocket-extensions');
  if (extHeader !== undefined) {
    extensions = parseExtensions(extHeader);
    const offered = opts.extensionsOffered;
    if (extensions.length > 0 && offered === false) {
      throw handshakeError('WS_ERR_INVALID_EXTENSION', 'Server sent Sec-WebSocket-Extensions but none were offered', 400);
    }
    if (typeof offered !== 'boolean') {
      const names = new Set(offered.map((n) => n.toLowerCase()));
      const seen = new Set<string>();
      for (const ext of extensions) {
        const name = ext.name.toLowerCase();
        if (!names.has(name)) {
          throw handshakeError('WS_ERR_INVALID_EXTENSION', `Server accepted extension ${ext.name} that was not offered`, 400);
        }
        if (seen.has(name)) {
          throw handshakeError('WS_ERR_INVALID_EXTENSION', `Server accepted extension ${ext.name} more than once`, 400);
        }
        seen.add(name);
      }
    }
  }

  // §4.1 step 6: "If the response includes a |Sec-WebSocket-Protocol| header
  // field and this header field indicates the use of a subprotocol that was
  // not present in the client's handshake (the server has indicated a
  // subprotocol not requested by the client), the client MUST _Fail the
  // WebSocket Connection_."
  const protocol = h.get('sec-websocket-protocol') ?? '';
  if (protocol !== '' && !opts.protocols.includes(protocol)) {
    throw handshakeError(
      'WS_ERR_INVALID_SUBPROTOCOL',
      opts.protocols.length === 0
        ? `Server sent subprotocol ${JSON.stringify(protocol.slice(0, 100))} but none was requested`
        : `Server sent subprotocol ${JSON.stringify(protocol.slice(0, 100))} that was not requested`,
      400,
    );
  }
  return { protocol, extensions, headers: h };
}
