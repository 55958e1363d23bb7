/**
 * permessage-deflate negotiation (RFC 7692 §5, §7.1), both roles, sans-I/O.
 *
 *   client: buildDeflateOffer(opts) ─► header ─► server
 *   server: negotiateDeflate(offers, opts) ─► { params, response } | null
 *   client: acceptDeflateResponse(response, opts) ─► params (or fail)
 *
 * The result, `DeflateParams`, tells the codec what each direction may do:
 * the `server_*` fields bind the server's compressor (and size the client's
 * inflater), the `client_*` fields the client's compressor (and the server's
 * inflater).
 *
 * ## Window bits 8
 *
 * zlib cannot compress a raw DEFLATE stream with an 8-bit (256-byte) window:
 * since 1.2.9 `deflateInit2(-8)` fails, before that it silently used 9
 * (madler/zlib#171); Node's `createDeflateRaw({ windowBits: 8 })` still
 * silently uses 9 and pako refuses. Inflating with 8 works. So:
 *
 * - As a server, an offer with `server_max_window_bits=8` is accepted and we
 *   compress with 9 (reasoning below). Earlier we declined such offers, as
 *   Autobahn|Python does; the Autobahn Testsuite grades that UNIMPLEMENTED
 *   (cases 13.3.x, 13.5.x), while compressing with 9 is correct on the wire:
 *   test/conformance's raw peer inflates those cases with exactly an 8-bit
 *   window and every message decodes.
 * - As a client we offer `client_max_window_bits` without a value (as
 *   browsers do), which lets the server pick anything from 8 to 15
 *   (§7.1.2.2). We accept 8, and the compressor uses `deflaterWindowBits(8)` = 9. That is what Chromium does
 *   (net/websockets/websocket_deflater.cc): zlib never emits a match further
 *   back than `(1 << windowBits) - 262` bytes (`MAX_DIST` in deflate.h), i.e.
 *   250 at 9 bits, which a peer's 256-byte window can still resolve. Measured
 *   with node:zlib 1.3.1 and pako at windowBits 9: a random block repeated at
 *   distance 250 is matched, at 251 it is not.
 * - Our own compressor's option (`serverMaxWindowBits` as a server,
 *   `clientMaxWindowBits` as a client) must be 9..15: a `RangeError` otherwise.
 *   The peer's window may be anything from 8 to 15: we only inflate with it.
 */
import { handshakeError } from '../ws/errors.js';
import type { ExtensionOffer } from '../ws/extensions.js';

/** The extension token (RFC 7692 §7). */
export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/**
 * permessage-deflate settings. The four window/context options are
 * negotiated (RFC 7692 §7.1); `threshold`, `level` and `memLevel` only tune
 * our own compressor and never go on the wire. The same object works for
 * both roles; each option says what it means in each.
 */
export interface DeflateOptions {
  /**
   * Server never reuses its LZ77 window between messages (§7.1.1.1).
   * Client: ask for it in the offer (a response without it then fails the
   * connection). Server: always announce it, even when not asked. A server
   * always honours a client that asks. Default false.
   */
  serverNoContextTakeover?: boolean;
  /**
   * Client never reuses its LZ77 window between messages (§7.1.1.2).
   * Client: announce it in the offer (we then reset our compressor after
   * every message, whatever the response says). Server: ask the client for
   * it in every response (lets our inflater drop the window). Default false.
   */
  clientNoContextTakeover?: boolean;
  /**
   * Largest window the server compresses with, 2^N bytes (§7.1.2.1).
   * Client: ask for it in the offer, 8..15 (we inflate with it); a response
   * with a larger value, or without the parameter, fails the connection.
   * Server: the largest window we use, 9..15 (see "Window bits 8"); the
   * response carries min(ours, offered). Default 15 (not sent).
   */
  serverMaxWindowBits?: number;
  /**
   * Largest window the client compresses with (§7.1.2.2).
   * Client: `true` (default) offers `client_max_window_bits` without a value,
   * so the server may limit us to anything from 8 to 15; a number 9..15 also
   * caps our compressor and is sent as a hint; `false` does not offer the
   * parameter (a response with it then fails the connection).
   * Server: a number 8..15 is the largest window our inflater accepts: sent
   * as min(ours, the offer's value); offers that do not let us limit the
   * client (no `client_max_window_bits`) are declined. `true`/`false`/absent:
   * no limit of ours (a value offered by the client is echoed, which lets our
   * inflater use the smaller window).
   */
  clientMaxWindowBits?: number | boolean;
  /**
   * Messages smaller than this many bytes are sent uncompressed (RSV1 clear,
   * §6). Default 1024, as ws: below that DEFLATE rarely pays for its CPU.
   */
  threshold?: number;
  /**
   * zlib compression level 0..9. Default 1 (`Z_BEST_SPEED`). ws and Chromium
   * use zlib's default 6. Measured on Node 20 (zlib 1.3.1), a 35 KB JSON
   * document compressed per message: level 1 → 488 MB/s, ratio 0.166;
   * level 3 → 365 MB/s, 0.166; level 6 → 157 MB/s, 0.163. For WAMP's JSON
   * messages 3× the speed costs 2% in size, so level 1.
   */
  level?: number;
  /**
   * zlib memLevel 1..9: memory for the compressor's hash table (2^(N+9)
   * bytes) against speed/ratio. Default 8, zlib's default, as ws and Chromium.
   */
  memLevel?: number;
}

/** Defaults for the options that are not negotiated. */
export const DEFLATE_DEFAULTS: Readonly<{ threshold: number; level: number; memLevel: number }> = Object.freeze({
  threshold: 1024,
  level: 1,
  memLevel: 8,
});

/**
 * What was agreed. Window bits are resolved to numbers 8..15 (15 when the
 * parameter was absent). On a client, our own stricter options are folded in
 * (a client may always use a smaller window, or drop its context, §7.1.1.2,
 * §7.1.2.2), so the fields are the exact limits each compressor observes.
 */
export interface DeflateParams {
  /** The server resets its compressor after every message (§7.1.1.1). */
  serverNoContextTakeover: boolean;
  /** The client resets its compressor after every message (§7.1.1.2). */
  clientNoContextTakeover: boolean;
  /** The server compresses with at most 2^N bytes of window (§7.1.2.1). */
  serverMaxWindowBits: number;
  /** The client compresses with at most 2^N bytes of window (§7.1.2.2). */
  clientMaxWindowBits: number;
}

/**
 * The windowBits to create a raw deflater with, for a negotiated limit:
 * `max(9, bits)`. zlib-derived deflaters (node:zlib, pako) cannot compress
 * with 8, and at 9 never reach back more than 250 bytes, which honours a
 * limit of 8 (see the module comment; Chromium does the same). Inflaters use
 * the negotiated value as is (or 15: a larger window is always safe).
 */
export function deflaterWindowBits(bits: number): number {
  return bits < 9 ? 9 : bits;
}

// ---------------------------------------------------------------- internals

const SERVER_NO_CONTEXT_TAKEOVER = 'server_no_context_takeover';
const CLIENT_NO_CONTEXT_TAKEOVER = 'client_no_context_takeover';
const SERVER_MAX_WINDOW_BITS = 'server_max_window_bits';
const CLIENT_MAX_WINDOW_BITS = 'client_max_window_bits';

/** The parameters of one offer or response, checked for syntax. */
interface Parsed {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | undefined;
  /** `true`: present without a value (offers only). */
  clientMaxWindowBits: number | true | undefined;
}

// §7.1.2.1 / §7.1.2.2: "a decimal integer value without leading zeroes
// between 8 to 15, inclusive". A quoted "10" arrives here unquoted (§9.1 of
// RFC 6455 makes the two forms equivalent).
const WINDOW_BITS = /^(?:[89]|1[0-5])$/;

/**
 * Check an offer's or response's parameters (§7, §7.1). Returns the parsed
 * parameters, or a reason string when the element is invalid: a parameter
 * not defined for this direction, an invalid value, or a parameter twice.
 */
function parseParams(ext: ExtensionOffer, kind: 'offer' | 'response'): Parsed | string {
  const p: Parsed = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  const seen = new Set<string>();
  for (const [rawName, value] of ext.params) {
    // Parameter names are matched case-insensitively, as HTTP parameter
    // names are (RFC 7231 §3.1.1.1); we always write them in lower case.
    const name = rawName.toLowerCase();
    // §7: "The negotiation ... contains multiple extension parameters with
    // the same name."
    if (seen.has(name)) return `duplicate parameter ${name}`;
    seen.add(name);
    switch (name) {
      case SERVER_NO_CONTEXT_TAKEOVER:
      case CLIENT_NO_CONTEXT_TAKEOVER:
        // §7.1.1.1 / §7.1.1.2: "This parameter has no value."
        if (value !== true) return `parameter ${name} must have no value`;
        if (name === SERVER_NO_CONTEXT_TAKEOVER) p.serverNoContextTakeover = true;
        else p.clientNoContextTakeover = true;
        break;
      case SERVER_MAX_WINDOW_BITS:
        // §7.1.2.1: always has a value, in an offer and in a response.
        if (value === true || !WINDOW_BITS.test(value)) {
          return `invalid value for ${name}: ${value === true ? '(none)' : JSON.stringify(value)}`;
        }
        p.serverMaxWindowBits = Number(value);
        break;
      case CLIENT_MAX_WINDOW_BITS:
        // §7.1.2.2: in an offer "no value or a decimal integer value ...";
        // in a response the server names the value the client must observe.
        if (value === true) {
          if (kind === 'response') return `parameter ${name} must have a value in a response`;
          p.clientMaxWindowBits = true;
        } else if (WINDOW_BITS.test(value)) {
          p.clientMaxWindowBits = Number(value);
        } else {
          return `invalid value for ${name}: ${JSON.stringify(value)}`;
        }
        break;
      default:
        // §7: "an extension parameter not defined for use in an offer /
        // a response".
        return `unknown parameter ${JSON.stringify(rawName)}`;
    }
  }
  return p;
}

function checkBits(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v > 15) {
    throw new RangeError(
      `${name} must be an integer from ${min} to 15, got ${String(v)}` +
        (v === 8 && min === 9 ? ' (zlib cannot compress with an 8-bit window; use 9)' : ''),
    );
  }
}

function isDeflate(ext: ExtensionOffer): boolean {
  return ext.name.toLowerCase() === PERMESSAGE_DEFLATE;
}

function invalidResponse(why: string) {
  return handshakeError('WS_ERR_INVALID_EXTENSION', `Invalid permessage-deflate response: ${why}`, 400);
}

// ---------------------------------------------------------------- client

/**
 * The client's offer (RFC 7692 §5, §7.1). By default
 * `permessage-deflate; client_max_window_bits`: the value-less parameter
 * tells the server it may limit our window (§7.1.2.2), as browsers offer.
 *
 * @throws RangeError when `serverMaxWindowBits` is not 8..15 or a numeric
 *   `clientMaxWindowBits` is not 9..15 (we compress with it).
 */
export function buildDeflateOffer(opts: DeflateOptions = {}): ExtensionOffer {
  const params: ExtensionOffer['params'] = [];
  if (opts.serverNoContextTakeover) params.push([SERVER_NO_CONTEXT_TAKEOVER, true]);
  if (opts.clientNoContextTakeover) params.push([CLIENT_NO_CONTEXT_TAKEOVER, true]);
  if (opts.serverMaxWindowBits !== undefined) {
    // We only inflate with the server's window: 8 is fine.
    checkBits('serverMaxWindowBits', opts.serverMaxWindowBits, 8);
    params.push([SERVER_MAX_WINDOW_BITS, String(opts.serverMaxWindowBits)]);
  }
  const cmwb = opts.clientMaxWindowBits;
  if (typeof cmwb === 'number') {
    checkBits('clientMaxWindowBits', cmwb, 9);
    params.push([CLIENT_MAX_WINDOW_BITS, String(cmwb)]);
  } else if (cmwb !== false) {
    params.push([CLIENT_MAX_WINDOW_BITS, true]);
  }
  return { name: PERMESSAGE_DEFLATE, params };
}

/**
 * Validate the server's permessage-deflate response to the offer built by
 * `buildDeflateOffer(opts)` and return the agreed parameters.
 *
 * RFC 7692 §7: the client "MUST _Fail the WebSocket Connection_" when the
 * response has a parameter not defined for a response, an invalid value, a
 * parameter twice, or a configuration the client does not support. Here that
 * is also: `client_max_window_bits` although we did not offer it (§7.1.2.2),
 * or above the value we offered; `server_max_window_bits` above the value we
 * asked for, or missing when we asked for one (§7.1.2.1); no
 * `server_no_context_takeover` when we asked for it (§7.1.1.1).
 *
 * A `client_max_window_bits=8` is accepted: see `deflaterWindowBits`.
 *
 * @throws WebSocketError `WS_ERR_INVALID_EXTENSION`: fail the connection.
 */
export function acceptDeflateResponse(resp: ExtensionOffer, opts: DeflateOptions = {}): DeflateParams {
  if (!isDeflate(resp)) throw invalidResponse(`not a ${PERMESSAGE_DEFLATE} response: ${JSON.stringify(resp.name)}`);
  const p = parseParams(resp, 'response');
  if (typeof p === 'string') throw invalidResponse(p);

  // §7.1.1.1: "A server accepts an extension negotiation offer that includes
  // the server_no_context_takeover extension parameter by including the
  // server_no_context_takeover extension parameter in the corresponding
  // extension negotiation response". The server may also add it unasked.
  if (opts.serverNoContextTakeover && !p.serverNoContextTakeover) {
    throw invalidResponse(`${SERVER_NO_CONTEXT_TAKEOVER} was requested but not accepted`);
  }

  // §7.1.2.1: the server accepts server_max_window_bits "with the same or
  // smaller value as the offer"; it may also send one unasked.
  let serverMaxWindowBits = 15;
  const asked = opts.serverMaxWindowBits;
  if (p.serverMaxWindowBits !== undefined) {
    if (asked !== undefined && p.serverMaxWindowBits > asked) {
      throw invalidResponse(`${SERVER_MAX_WINDOW_BITS}=${p.serverMaxWindowBits} is larger than the ${asked} requested`);
    }
    serverMaxWindowBits = p.serverMaxWindowBits;
  } else if (asked !== undefined && asked < 15) {
    throw invalidResponse(`${SERVER_MAX_WINDOW_BITS}=${asked} was requested but not accepted`);
  }

  // §7.1.2.2: "If a received extension negotiation offer doesn't have the
  // client_max_window_bits extension parameter, the corresponding extension
  // negotiation response to the offer MUST NOT include the
  // client_max_window_bits extension parameter." When the offer had a value,
  // the response may only repeat it or go lower.
  const own = opts.clientMaxWindowBits;
  let clientMaxWindowBits = typeof own === 'number' ? own : 15;
  if (typeof p.clientMaxWindowBits === 'number') {
    if (own === false) {
      throw invalidResponse(`${CLIENT_MAX_WINDOW_BITS} in the response but not in the offer`);
    }
    if (typeof own === 'number' && p.clientMaxWindowBits > own) {
      throw invalidResponse(`${CLIENT_MAX_WINDOW_BITS}=${p.clientMaxWindowBits} is larger than the ${own} offered`);
    }
    // 8 is valid here: the codec compresses with deflaterWindowBits(8) = 9.
    clientMaxWindowBits = p.clientMaxWindowBits;
  }

  return {
    serverNoContextTakeover: p.serverNoContextTakeover,
    // §7.1.1.2: the server may ask for it; we may also just do it.
    clientNoContextTakeover: p.clientNoContextTakeover || !!opts.clientNoContextTakeover,
    serverMaxWindowBits,
    clientMaxWindowBits,
  };
}

// ---------------------------------------------------------------- server

/**
 * Choose among a request's permessage-deflate offers (RFC 7692 §5.1: a
 * client may send several, in order of preference) and build the response.
 *
 * Offers are tried in order and the first acceptable one wins. An offer is
 * declined — skipped, never fatal — when it is invalid or asks for what we
 * cannot do. RFC 7692 §7: "A server MUST decline an extension negotiation
 * offer for this extension if any of the following conditions are met: The
 * negotiation offer contains an extension parameter not defined for use in an
 * offer. The negotiation offer contains an extension parameter with an
 * invalid value. The negotiation offer contains multiple extension parameters
 * with the same name. The server doesn't support the offered configuration."
 * Elements with another name are ignored, so the whole parsed
 * `Sec-WebSocket-Extensions` list may be passed.
 *
 * Declined as unsupported:
 * a numeric `clientMaxWindowBits` option with an offer that does not let us
 * limit the client's window.
 *
 * @returns the agreed parameters and the response element to send
 *   (`formatExtensions([response])`), or null to go without compression.
 * @throws RangeError on invalid options (programming error, not input).
 */
export function negotiateDeflate(
  offers: readonly ExtensionOffer[],
  opts: DeflateOptions = {},
): { params: DeflateParams; response: ExtensionOffer } | null {
  const ownServerBits = opts.serverMaxWindowBits;
  if (ownServerBits !== undefined) checkBits('serverMaxWindowBits', ownServerBits, 9);
  const limitClient = typeof opts.clientMaxWindowBits === 'number' ? opts.clientMaxWindowBits : undefined;
  if (limitClient !== undefined) checkBits('clientMaxWindowBits', limitClient, 8);

  for (const offer of offers) {
    if (!isDeflate(offer)) continue;
    const p = parseParams(offer, 'offer');
    if (typeof p === 'string') continue; // §7: invalid offer → decline it

    const params: ExtensionOffer['params'] = [];

    // §7.1.1.1: accept server_no_context_takeover by echoing it; we may also
    // announce it unasked. Always supported (it only costs ratio).
    const serverNoContextTakeover = p.serverNoContextTakeover || !!opts.serverNoContextTakeover;
    if (serverNoContextTakeover) params.push([SERVER_NO_CONTEXT_TAKEOVER, true]);

    // §7.1.1.2: the server "may either ignore the parameter or use the
    // parameter to avoid taking over the LZ77 sliding window unnecessarily by
    // including the client_no_context_takeover extension parameter in the
    // corresponding extension negotiation response". We use it (our inflater
    // can drop its window); and we may ask for it unasked.
    const clientNoContextTakeover = p.clientNoContextTakeover || !!opts.clientNoContextTakeover;
    if (clientNoContextTakeover) params.push([CLIENT_NO_CONTEXT_TAKEOVER, true]);

    // §7.1.2.1: "A server accepts an extension negotiation offer with this
    // parameter by including the server_max_window_bits extension parameter
    // in the extension negotiation response to send back to the client with
    // the same or smaller value as the offer." It may include it unasked to
    // announce its own limit.
    let serverMaxWindowBits = ownServerBits ?? 15;
    if (p.serverMaxWindowBits !== undefined) {
      serverMaxWindowBits = Math.min(serverMaxWindowBits, p.serverMaxWindowBits);
      // 8 is honoured by compressing with 9: zlib then never reaches back
      // more than 250 bytes (see "Window bits 8" above).
      params.push([SERVER_MAX_WINDOW_BITS, String(serverMaxWindowBits)]);
    } else if (ownServerBits !== undefined && ownServerBits < 15) {
      params.push([SERVER_MAX_WINDOW_BITS, String(ownServerBits)]);
    }

    // §7.1.2.2: without client_max_window_bits in the offer the response
    // "MUST NOT include" it; with a value, the server may answer "a value
    // equal to or smaller than the received value".
    let clientMaxWindowBits = 15;
    if (p.clientMaxWindowBits === undefined) {
      // We cannot limit this client: decline if our inflater needs a limit.
      if (limitClient !== undefined && limitClient < 15) continue;
    } else {
      const offered = p.clientMaxWindowBits === true ? 15 : p.clientMaxWindowBits;
      clientMaxWindowBits = Math.min(offered, limitClient ?? 15);
      if (limitClient !== undefined || p.clientMaxWindowBits !== true) {
        params.push([CLIENT_MAX_WINDOW_BITS, String(clientMaxWindowBits)]);
      }
    }

    return {
      params: { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits },
      response: { name: PERMESSAGE_DEFLATE, params },
    };
  }
  return null;
}
