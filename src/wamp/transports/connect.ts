/**
 * Opens a WAMP-over-WebSocket transport with whatever WHATWG-style WebSocket
 * the runtime has: the browser's and Deno's global one by default, ours on
 * Node (the Node entry passes it in with {@link createWebSocketConnector}),
 * or any constructor you give. Imports no `node:*` module.
 *
 * @module
 */
import { WampSessionError } from '../application-error.js';
import { JsonSerializer } from '../serializers/json.js';
import type { Serializer } from '../serializers/types.js';
import type { WampTransport } from '../transport.js';
import { WebSocketTransport, type WebSocketLike, type WebSocketTransportOptions } from './websocket.js';

/**
 * A WebSocket constructor: `new (url, protocols, options?)`. The third
 * argument is given only when {@link ConnectWebSocketOptions.headers} or
 * {@link ConnectWebSocketOptions.webSocketOptions} are set (our Node client and
 * `ws` take `{ headers }` there; browsers have no such argument).
 */
export type WebSocketConstructor = new (url: string, protocols: string[], options?: never) => WebSocketLike;

/** Options of {@link connectWebSocket}. */
export interface ConnectWebSocketOptions extends WebSocketTransportOptions {
  /**
   * The serializers we speak, in order of preference (e.g.
   * `[new CborSerializer(), new MsgpackSerializer(), new JsonSerializer()]`).
   * Default JSON only, so MessagePack and CBOR are bundled only by apps that
   * import them.
   */
  serializers?: readonly Serializer[];
  /**
   * WAMP subprotocols offered, in order of preference; each must belong to one
   * of `serializers` (or be its batched variant). Default: the subprotocols of
   * `serializers`, in their order. The server picks one.
   */
  protocols?: readonly string[];
  /** The WebSocket constructor. Default `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Extra HTTP headers of the opening handshake (for constructors that take `{ headers }`, e.g. ours on Node). */
  headers?: Record<string, string>;
  /** More options for the constructor's third argument (merged under `headers`). */
  webSocketOptions?: Record<string, unknown>;
  /** Milliseconds to wait for the connection to open. Default 10000. */
  timeout?: number;
  /** Aborts connecting. */
  signal?: AbortSignal;
}

const DEFAULT_CONNECT_TIMEOUT = 10_000;
const OPEN = 1;

function connectError(message: string, cause?: unknown): WampSessionError {
  return new WampSessionError('WAMP_ERR_CONNECT', 'wamp.close.transport_lost', message, cause === undefined ? {} : { cause });
}

/**
 * Connects to a WAMP router over WebSocket and resolves with an unopened
 * {@link WampTransport} (hand it to `Session.join`). Rejects with a
 * {@link WampSessionError} `WAMP_ERR_CONNECT` when the connection fails,
 * times out, is aborted, or the server picks no WAMP subprotocol we offered.
 *
 * Typical use: `Session.join(await connectWebSocket('wss://router.example.com/ws'), 'realm1')`.
 *
 * @param url - `ws://` or `wss://` URL of the router
 * @param options - subprotocols, WebSocket constructor, headers, timeout, signal
 */
export function connectWebSocket(url: string, options: ConnectWebSocketOptions = {}): Promise<WampTransport> {
  const serializers = options.serializers && options.serializers.length > 0 ? options.serializers : [new JsonSerializer()];
  const {
    protocols = serializers.map((s) => s.subprotocol),
    WebSocket: Ctor = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket,
    headers,
    webSocketOptions,
    timeout,
    signal,
    ...transportOptions
  } = options;
  return new Promise<WampTransport>((resolve, reject) => {
    if (!Ctor) {
      reject(connectError('no WebSocket constructor: pass options.WebSocket (this runtime has no global WebSocket)'));
      return;
    }
    const spoken = new Set<string>();
    for (const s of serializers) {
      spoken.add(s.subprotocol);
      if (s.batched) spoken.add(s.batched.subprotocol);
    }
    for (const p of protocols) {
      if (!spoken.has(p)) {
        reject(
          new WampSessionError(
            'WAMP_ERR_INVALID_ARGUMENT',
            'wamp.error.invalid_argument',
            `'${p}' is not the subprotocol of a serializer given (${[...spoken].join(', ')})`,
          ),
        );
        return;
      }
    }
    if (signal?.aborted) {
      reject(connectError('connecting was aborted', signal.reason));
      return;
    }
    let ws: WebSocketLike;
    try {
      const third = headers || webSocketOptions ? { ...webSocketOptions, ...(headers ? { headers } : {}) } : undefined;
      ws = third === undefined ? new Ctor(url, [...protocols]) : new Ctor(url, [...protocols], third as never);
    } catch (err) {
      reject(connectError(`could not connect to ${url}: ${err instanceof Error ? err.message : String(err)}`, err));
      return;
    }
    let settled = false;
    const ms = typeof timeout === 'number' && timeout > 0 ? timeout : DEFAULT_CONNECT_TIMEOUT;
    const fail = (error: WampSessionError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      try {
        ws.close(1000, '');
      } catch {
        // closing a socket that never opened is best effort
      }
      reject(error);
    };
    const onAbort = (): void => fail(connectError('connecting was aborted', signal?.reason));
    const timer = setTimeout(() => fail(connectError(`no connection to ${url} within ${ms} ms`)), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    ws.addEventListener('open', () => {
      if (settled) return;
      if (ws.readyState !== OPEN) return;
      const chosen = ws.protocol;
      if (!protocols.includes(chosen)) {
        fail(connectError(`the server chose subprotocol '${chosen}', none of ${protocols.join(', ')}`));
        return;
      }
      let transport: WampTransport;
      try {
        transport = new WebSocketTransport(ws, { ...transportOptions, serializers });
      } catch (err) {
        fail(connectError(`could not use subprotocol '${chosen}'`, err));
        return;
      }
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(transport);
    });
    ws.addEventListener('error', (ev: unknown) => {
      const e = (typeof ev === 'object' && ev !== null ? ev : {}) as { error?: unknown; message?: unknown };
      const detail = e.error instanceof Error ? `: ${e.error.message}` : typeof e.message === 'string' ? `: ${e.message}` : '';
      fail(connectError(`could not connect to ${url}${detail}`, e.error));
    });
    ws.addEventListener('close', (ev: unknown) => {
      const e = (typeof ev === 'object' && ev !== null ? ev : {}) as { code?: unknown; reason?: unknown };
      const code = typeof e.code === 'number' ? e.code : 1006;
      const reason = typeof e.reason === 'string' && e.reason ? ` ${e.reason}` : '';
      fail(connectError(`the connection to ${url} closed before it opened (${code}${reason})`));
    });
  });
}

/**
 * A {@link connectWebSocket} with other defaults, e.g. a runtime's own
 * WebSocket client: `createWebSocketConnector({ WebSocket: NodeWebSocket })`.
 *
 * @param defaults - options applied under each call's own
 * @returns a `connectWebSocket` function
 */
export function createWebSocketConnector(
  defaults: ConnectWebSocketOptions,
): (url: string, options?: ConnectWebSocketOptions) => Promise<WampTransport> {
  return (url, options = {}) => connectWebSocket(url, { ...defaults, ...options });
}
