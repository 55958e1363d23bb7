/**
 * Where a {@link Component} connects: transport descriptors (plain data), a
 * URL parser for them, and the isomorphic default connector (WebSocket with
 * the runtime's own `WebSocket`). RawSocket needs a runtime with TCP sockets:
 * the Node entry supplies a connector for it (see
 * `src/adapters/node/component-transports.ts`). Imports no `node:*` module.
 *
 * @module
 */
import { WampSessionError } from '../application-error.js';
import type { Serializer, SerializerId } from '../serializers/types.js';
import type { WampTransport } from '../transport.js';
import { connectWebSocket, type ConnectWebSocketOptions } from '../transports/connect.js';

/** A WebSocket transport: connects with `connectWebSocket(url, …)`. */
export interface WebSocketTransportDescriptor {
  /** `ws://` or `wss://` URL of the router. */
  url: string;
  /** Serializers offered, in order of preference. Default JSON only. */
  serializers?: readonly Serializer[];
  /** Extra HTTP headers of the opening handshake (runtimes whose WebSocket takes them, e.g. ours on Node). */
  headers?: Record<string, string>;
  /** Any other {@link ConnectWebSocketOptions} (protocols, timeout, limits, WebSocket constructor). */
  options?: Omit<ConnectWebSocketOptions, 'serializers' | 'headers' | 'signal'>;
}

/** Where a RawSocket transport connects: TCP (`host`, `port`) or a Unix socket (`path`). */
export type RawSocketTarget = { host?: string; port: number; path?: undefined } | { path: string; host?: undefined; port?: undefined };

/** A RawSocket transport (TCP, TLS or Unix socket); needs a connector that speaks it (Node). */
export interface RawSocketTransportDescriptor {
  /** The address. */
  rawsocket: RawSocketTarget;
  /** Serializer requested in the handshake. Default `'json'`. */
  serializer?: SerializerId;
  /** Connect with TLS: `true`, or the runtime's TLS options (on Node: node:tls connect options). */
  tls?: boolean | Record<string, unknown>;
}

/** A transport described by data; a {@link TransportConnector} turns it into a connection. */
export type TransportDescriptor = WebSocketTransportDescriptor | RawSocketTransportDescriptor;

/**
 * Opens a transport yourself: resolve with an unopened {@link WampTransport}.
 * `signal` aborts when the component stops or the attempt times out.
 */
export type TransportFactory = (signal: AbortSignal) => Promise<WampTransport>;

/** One entry of `ComponentOptions.transports`. */
export type TransportSpec = TransportFactory | TransportDescriptor;

/** Turns a descriptor into an unopened transport (rejects when it cannot). */
export type TransportConnector = (descriptor: TransportDescriptor, signal: AbortSignal) => Promise<WampTransport>;

/** `true` for a RawSocket descriptor. */
export function isRawSocketDescriptor(d: TransportDescriptor): d is RawSocketTransportDescriptor {
  return typeof (d as RawSocketTransportDescriptor).rawsocket === 'object' && (d as RawSocketTransportDescriptor).rawsocket !== null;
}

/** Options of {@link transportFromUrl}. */
export interface TransportFromUrlOptions {
  /** For WebSocket URLs: the serializers offered. */
  serializers?: readonly Serializer[];
  /** For RawSocket URLs: the serializer requested. Default `'json'`. */
  serializer?: SerializerId;
}

function invalidUrl(url: string, why: string): WampSessionError {
  return new WampSessionError('WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_argument', `invalid router URL '${url}': ${why}`);
}

/**
 * Parses a router URL into a descriptor:
 *
 * - `ws://host:port/path`, `wss://…` — WebSocket;
 * - `rs://host:port`, `rss://host:port` — RawSocket over TCP, `rss` with TLS
 *   (the scheme names Autobahn's `wamp` tool and Crossbar use; `tcp://` and
 *   `tls://` are accepted as aliases);
 * - `unix:///path/to/socket` (or `unix:/path`) — RawSocket over a Unix socket.
 *
 * @throws {@link WampSessionError} `WAMP_ERR_INVALID_ARGUMENT` for other schemes or a missing port
 *
 * @example
 * ```ts
 * console.assert(JSON.stringify(transportFromUrl('rs://127.0.0.1:8080')) === '{"rawsocket":{"host":"127.0.0.1","port":8080},"serializer":"json"}');
 * console.assert(JSON.stringify(transportFromUrl('unix:///tmp/wamp.sock', { serializer: 'cbor' })) === '{"rawsocket":{"path":"/tmp/wamp.sock"},"serializer":"cbor"}');
 * console.assert((transportFromUrl('ws://localhost:8080/ws') as { url: string }).url === 'ws://localhost:8080/ws');
 * ```
 */
export function transportFromUrl(url: string, options: TransportFromUrlOptions = {}): TransportDescriptor {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url);
  if (!m) throw invalidUrl(url, 'no scheme (want ws://, wss://, rs://, rss:// or unix://)');
  const scheme = (m[1] as string).toLowerCase();
  const serializer = options.serializer ?? 'json';
  switch (scheme) {
    case 'ws':
    case 'wss': {
      try {
        new URL(url);
      } catch {
        throw invalidUrl(url, 'not a URL');
      }
      return options.serializers ? { url, serializers: options.serializers } : { url };
    }
    case 'rs':
    case 'rss':
    case 'tcp':
    case 'tls': {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw invalidUrl(url, 'not a URL');
      }
      const port = Number(parsed.port);
      if (!parsed.port || !Number.isInteger(port) || port < 1 || port > 65535) throw invalidUrl(url, 'needs a port (rs://host:port)');
      // URL keeps IPv6 literals in brackets; the socket wants them bare.
      const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
      const tls = scheme === 'rss' || scheme === 'tls';
      return { rawsocket: { host, port }, serializer, ...(tls ? { tls: true } : {}) };
    }
    case 'unix': {
      const rest = url.slice(m[0].length);
      // unix:///abs/path (empty authority) or unix:/abs/path; unix://name/... names a host, which a Unix socket has not.
      const path = rest.startsWith('///') ? rest.slice(2) : rest.startsWith('//') ? '' : rest;
      if (!path.startsWith('/') || path.length < 2) throw invalidUrl(url, 'want unix:///absolute/path');
      return { rawsocket: { path: decodeURIComponent(path) }, serializer };
    }
    default:
      throw invalidUrl(url, `unknown scheme '${scheme}' (want ws://, wss://, rs://, rss:// or unix://)`);
  }
}

/**
 * The default connector: WebSocket descriptors with `connectWebSocket` and the
 * runtime's global `WebSocket` (browsers, Deno, Node ≥ 22) or the descriptor's
 * `options.WebSocket`; RawSocket descriptors, and WebSocket ones in a runtime
 * without a WebSocket, are refused with `WAMP_ERR_INVALID_ARGUMENT` (a fatal
 * error, not retried) — on Node pass the Node entry's connector instead.
 */
export const defaultTransportConnector: TransportConnector = (descriptor, signal) => {
  if (isRawSocketDescriptor(descriptor)) {
    return Promise.reject(
      new WampSessionError(
        'WAMP_ERR_INVALID_ARGUMENT',
        'wamp.error.invalid_argument',
        'RawSocket transports need a connector that speaks RawSocket (on Node: connectNodeTransport from autostrada/server)',
      ),
    );
  }
  if (!descriptor.options?.WebSocket && typeof (globalThis as { WebSocket?: unknown }).WebSocket !== 'function') {
    // A setup error, not a network one: retrying cannot help.
    return Promise.reject(
      new WampSessionError(
        'WAMP_ERR_INVALID_ARGUMENT',
        'wamp.error.invalid_argument',
        'this runtime has no global WebSocket: give the descriptor options.WebSocket, or a connector (on Node: connectNodeTransport)',
      ),
    );
  }
  return connectWebSocket(descriptor.url, {
    ...descriptor.options,
    ...(descriptor.serializers ? { serializers: descriptor.serializers } : {}),
    ...(descriptor.headers ? { headers: descriptor.headers } : {}),
    signal,
  });
};

/** A short human-readable name of a transport spec, for messages. */
export function describeTransport(spec: TransportSpec, index: number): string {
  if (typeof spec === 'function') return `transport #${index + 1} (factory)`;
  if (isRawSocketDescriptor(spec)) {
    const t = spec.rawsocket;
    const scheme = spec.tls ? 'rss' : 'rs';
    return t.path !== undefined ? `unix://${t.path}` : `${scheme}://${t.host ?? '127.0.0.1'}:${t.port}`;
  }
  return spec.url;
}
