/**
 * The runtime-neutral half of an adapter's opening handshake: what every
 * client and server adapter (node:net, Web Streams, Deno) decides the same
 * way once the sans-I/O core (`core/ws/handshake.ts`,
 * `core/deflate/negotiate.ts`) has parsed the other side's head. No `node:*`,
 * no `Buffer`: the deflate backend is passed in (node:zlib on Node, pako
 * elsewhere).
 *
 *   client: parseWebSocketUrl ─► buildClientRequest ─► (response head)
 *           ─► validateUpgradeResponse ─► clientExtensions
 *   server: (request head) ─► parseUpgradeRequest ─► negotiateServer
 *           ─► buildAcceptResponse
 */
import { CloseCode, WebSocketError } from '../core/ws/errors.js';
import { buildUpgradeRequest, type ServerHandshakeRequest } from '../core/ws/handshake.js';
import { formatExtensions, type ExtensionOffer } from '../core/ws/extensions.js';
import { acceptDeflateResponse, buildDeflateOffer, negotiateDeflate, type DeflateOptions, type DeflateParams } from '../core/deflate/negotiate.js';
import { PerMessageDeflate } from '../core/deflate/codec.js';
import type { DeflateBackend } from '../core/deflate/backend.js';
import { DEFAULT_LIMITS } from '../core/ws/constants.js';

/** Refuse a handshake with an HTTP status (401, 403, …) and optional headers and body. */
export interface VerifyRejection {
  status: number;
  message?: string;
  headers?: Array<[string, string]>;
}

/**
 * A WebSocket URL, checked: ws:, wss:, http: or https:, and no fragment
 * (RFC 6455 §3: "Fragment identifiers are meaningless in the context of
 * WebSocket URIs and MUST NOT be used").
 *
 * @throws SyntaxError (as browsers' `new WebSocket(url)` does).
 */
export function parseWebSocketUrl(url: string | URL): URL {
  let target: URL;
  try {
    target = new URL(String(url));
  } catch {
    throw new SyntaxError(`invalid URL: ${String(url)}`);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(target.protocol)) throw new SyntaxError(`unsupported URL scheme ${target.protocol}`);
  if (target.hash) throw new SyntaxError('a WebSocket URL must not have a fragment');
  return target;
}

/** Does the URL ask for TLS (wss:, https:)? */
export function isSecureUrl(url: URL): boolean {
  return url.protocol === 'wss:' || url.protocol === 'https:';
}

/**
 * The `perMessageDeflate` option of a client as its offers, by preference
 * (RFC 7692 §5: several may be sent, the server accepts at most one), or
 * null for none. Default: one offer with the defaults.
 */
export function clientDeflateOptions(option: boolean | DeflateOptions | DeflateOptions[] | undefined): DeflateOptions[] | null {
  if (option === false) return null;
  if (option === true || option === undefined) return [{}];
  const offers = Array.isArray(option) ? option : [option];
  return offers.length > 0 ? offers : null;
}

/** The `perMessageDeflate` option of a server, or null for none. Default: off. */
export function serverDeflateOptions(option: boolean | DeflateOptions | undefined): DeflateOptions | null {
  return option === true ? {} : option || null;
}

/** What a client adds to the upgrade request beyond the URL. */
export interface ClientRequestOptions {
  /** Extra request headers. */
  headers?: Record<string, string> | Array<[string, string]>;
  /** Origin header (Sec-WebSocket-Origin for version 8). */
  origin?: string;
  /** 13 (RFC 6455, default) or 8 (hybi-08..12 drafts). */
  protocolVersion?: 13 | 8;
}

/**
 * The client's upgrade request for `url` (RFC 6455 §4.1): Host without the
 * default port, the path and query, Basic credentials from the URL's
 * userinfo, the deflate offer when `deflate` is not null.
 *
 * @throws TypeError on an invalid value (see `buildUpgradeRequest`).
 */
export function buildClientRequest(url: URL, key: string, protocols: string[], deflate: DeflateOptions[] | null, options: ClientRequestOptions): string {
  const authorization = url.username ? `Basic ${utf8Base64(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`)}` : undefined;
  const defaultPort = isSecureUrl(url) ? '443' : '80';
  return buildUpgradeRequest({
    host: url.port && url.port !== defaultPort ? `${url.hostname}:${url.port}` : url.hostname,
    path: (url.pathname || '/') + url.search,
    key,
    version: options.protocolVersion ?? 13,
    protocols,
    ...(deflate ? { extensions: formatExtensions(deflate.map(buildDeflateOffer)) } : {}),
    ...(options.origin ? { origin: options.origin } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(authorization ? { authorization } : {}),
  });
}

/**
 * The client's side of extension negotiation, after `validateUpgradeResponse`:
 * only permessage-deflate, only once, only if offered (RFC 6455 §9.1, RFC 7692
 * §7); returns its codec and the agreed header value.
 *
 * @throws WebSocketError `WS_ERR_INVALID_EXTENSION` (fail the connection).
 */
export function clientExtensions(
  accepted: ExtensionOffer[],
  deflate: DeflateOptions[] | null,
  backend: DeflateBackend,
  maxMessageSize: number | undefined,
): { codec: PerMessageDeflate | null; extensions: string } {
  const pmd = accepted.find((e) => e.name === 'permessage-deflate');
  if (accepted.some((e) => e.name !== 'permessage-deflate') || accepted.length > 1) {
    throw new WebSocketError('WS_ERR_INVALID_EXTENSION', 'server accepted an extension we did not offer', CloseCode.MANDATORY_EXTENSION);
  }
  if (!pmd || !deflate) return { codec: null, extensions: '' };
  // The response answers one of our offers without saying which: the first
  // it is a valid answer to (RFC 7692 §7) is the one taken.
  let params: DeflateParams | null = null;
  let offer: DeflateOptions = {};
  let firstError: unknown = null;
  for (const o of deflate) {
    try {
      params = acceptDeflateResponse(pmd, o);
      offer = o;
      break;
    } catch (err) {
      firstError ??= err;
    }
  }
  if (params === null) throw firstError;
  const codec = new PerMessageDeflate({
    params,
    role: 'client',
    backend,
    maxMessageSize: maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize,
    ...deflateTuning(offer),
  });
  return { codec, extensions: formatExtensions([pmd]) };
}

/** How a server picks a subprotocol and compression. */
export interface ServerNegotiationOptions<R> {
  /** Subprotocols spoken, by preference: the first the client offered wins. */
  protocols?: string[] | undefined;
  /** Choose from the client's offers; false for none. Takes precedence over `protocols`. */
  handleProtocols?: ((offered: string[], req: R) => string | false) | undefined;
  /** permessage-deflate settings, or null for none. */
  deflate: DeflateOptions | null;
  backend: DeflateBackend;
  maxMessageSize?: number | undefined;
}

/**
 * The server's choices for a valid upgrade request: the subprotocol (our
 * preference among the offers; with neither `protocols` nor `handleProtocols`,
 * the client's first), and permessage-deflate (RFC 7692 §5) with its codec.
 *
 * @throws Error when `handleProtocols` picks a subprotocol the client did not
 *   offer (answer 500: a server bug, not the client's).
 */
export function negotiateServer<R>(
  hs: ServerHandshakeRequest,
  options: ServerNegotiationOptions<R>,
  req: R,
): { protocol: string; extensions: string; codec: PerMessageDeflate | null } {
  let protocol = '';
  if (hs.protocols.length > 0) {
    const chosen = options.handleProtocols
      ? options.handleProtocols(hs.protocols, req)
      : options.protocols
        ? (options.protocols.find((p) => hs.protocols.includes(p)) ?? false)
        : (hs.protocols[0] as string);
    if (chosen !== false) {
      // §4.2.2 step 5.5: the value must be one of those the client sent.
      if (!hs.protocols.includes(chosen)) throw new Error(`handleProtocols chose ${chosen}, which the client did not offer`);
      protocol = chosen;
    }
  }
  let extensions = '';
  let codec: PerMessageDeflate | null = null;
  if (options.deflate) {
    const offers = hs.extensions.filter((e) => e.name === 'permessage-deflate');
    const agreed = offers.length > 0 ? negotiateDeflate(offers, options.deflate) : null;
    if (agreed) {
      extensions = formatExtensions([agreed.response]);
      codec = new PerMessageDeflate({
        params: agreed.params,
        role: 'server',
        backend: options.backend,
        maxMessageSize: options.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize,
        ...deflateTuning(options.deflate),
      });
    }
  }
  return { protocol, extensions, codec };
}

/** Is the Upgrade header there and naming websocket? (A plain HTTP request otherwise: answer 426.) */
export function wantsWebSocket(upgrade: string | undefined): boolean {
  return upgrade !== undefined && /(^|[\s,])websocket($|[\s,])/i.test(upgrade);
}

/** The compressor settings that never go on the wire. */
export function deflateTuning(o: DeflateOptions): { threshold?: number; level?: number; memLevel?: number } {
  const t: { threshold?: number; level?: number; memLevel?: number } = {};
  if (o.threshold !== undefined) t.threshold = o.threshold;
  if (o.level !== undefined) t.level = o.level;
  if (o.memLevel !== undefined) t.memLevel = o.memLevel;
  return t;
}

const utf8 = new TextEncoder();

/** Base64 of a string's UTF-8 bytes (what `Buffer.from(s).toString('base64')` gives), with the global btoa. */
function utf8Base64(s: string): string {
  const bytes = utf8.encode(s);
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i] as number);
  return btoa(bin);
}
