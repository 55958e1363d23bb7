/**
 * The router's network front: ONE listening port (TCP or TLS) that carries
 *
 * - WAMP over WebSocket (`/ws` by default; json, msgpack, cbor and their
 *   batched variants, chosen by OUR preference among the client's offers),
 * - WAMP over RawSocket (a connection whose first byte is 0x7F, the RawSocket
 *   magic — no HTTP request can start with it), and
 * - plain HTTP serving static files (the demo at `/`),
 *
 * plus optional extra RawSocket listeners on Unix socket paths. Each accepted
 * WAMP connection becomes a {@link WampTransport} handed to a callback; the
 * router core attaches it. Node only.
 *
 * @module
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { rmSync } from 'node:fs';
import type { WebSocketConnection } from '../connection.js';
import { WebSocketServer } from '../adapters/node/server.js';
import { createStaticHandler } from '../adapters/node/static.js';
import { acceptRawSocket } from '../adapters/node/rawsocket.js';
import { WebSocketTransport } from '../wamp/transports/websocket.js';
import type { WampTransport, WampTransportCloseInfo, WampTransportHandler, WampTransportInfo } from '../wamp/transport.js';
import type { WampMessage } from '../wamp/messages.js';
import type { WampProtocolError } from '../wamp/errors.js';
import type { SerializationError } from '../wamp/serializers/types.js';
import { Router as RouterCore, type AttachOptions, type RouterOptions } from './router.js';
import type { SerializerId } from '../wamp/serializers/types.js';
import { serializers as allSerializers } from '../wamp/serializers/index.js';

/** The WAMP WebSocket subprotocols we speak, in our order of preference. */
export const ROUTER_SUBPROTOCOLS: readonly string[] = Object.freeze([
  'wamp.2.cbor',
  'wamp.2.msgpack',
  'wamp.2.json',
  'wamp.2.msgpack.batched',
  'wamp.2.json.batched',
]);

/** WebSocket endpoint settings. */
export interface WebSocketEndpointOptions {
  /** Path(s) of the WebSocket endpoint. Default `'/ws'`. */
  path?: string | string[];
  /** Subprotocols to accept, in preference order. Default {@link ROUTER_SUBPROTOCOLS}. */
  protocols?: readonly string[];
  /** Accept permessage-deflate. Default true. */
  perMessageDeflate?: boolean;
  /** Largest WAMP message in bytes. Default 16 MiB. */
  maxMessageSize?: number;
  /** Ping idle clients every `interval` ms, drop them after `timeout` ms without pong. Default off. */
  heartbeat?: { interval: number; timeout: number };
}

/** RawSocket settings (on the shared port and on Unix paths). */
export interface RawSocketEndpointOptions {
  /** Serializers accepted. Default all three. */
  serializers?: SerializerId[];
  /** Largest WAMP message in bytes. Default 16 MiB. */
  maxMessageSize?: number;
}

/** Options of {@link WampListener}. */
export interface WampListenerOptions {
  /** Interface to listen on. Default `'127.0.0.1'`. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Serve TLS (wss://, https://, RawSocket over TLS) on the port. */
  tls?: TlsOptions;
  /** WebSocket endpoint; `false` disables WebSocket. */
  websocket?: WebSocketEndpointOptions | false;
  /** RawSocket on the shared port; `false` disables it. */
  rawsocket?: RawSocketEndpointOptions | false;
  /** Also accept RawSocket on these Unix socket paths (removed first if stale). */
  unixPaths?: string[];
  /** Directory served over HTTP at `/`, with extra exact-path files; `false` answers 404 to every plain request. */
  static?: { root: string; files?: Record<string, string> } | false;
  /** A connection must send its first byte within this many ms. Default 10000. */
  openTimeout?: number;
}

const RAWSOCKET_MAGIC = 0x7f;
const ALL_SERIALIZERS = Object.values(allSerializers);
const MAX_MESSAGE_DEFAULT = 16 * 1024 * 1024;

function peerOf(socket: Socket): string | undefined {
  const addr = socket.remoteAddress;
  // No address: a Unix socket (an http.Server we are attached to may listen on
  // one), or a TCP socket already closed (nothing to report then).
  if (!addr) return socket.destroyed ? undefined : 'unix';
  return `${socket.remoteFamily === 'IPv6' ? 'tcp6' : 'tcp4'}:${addr}:${socket.remotePort ?? 0}`;
}

function headersOf(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/**
 * The channel facts of a WebSocket connection. `peer` (a getpeername system
 * call) and `httpHeaders` (a copy of every header) are computed when first
 * read: most sessions never read them, and together they were ~3 % of the
 * router's CPU per handshake (bench:router). A class, not an object literal
 * with getters (V8 keeps those in dictionary mode: ~0.45 KB each per idle
 * session). The getters are enumerable (for...in sees them) and `toJSON`
 * includes them; a spread copy (`{ ...info }`) does not.
 */
class ChannelInfo implements WampTransportInfo {
  // Filled in by WebSocketTransport (declared here so the shape never changes).
  type: WampTransportInfo['type'] = 'websocket';
  serializer = '';
  protocol = '';
  readonly secure: boolean;
  // Private (#): not enumerable, so for...in and spreads show the facts only.
  readonly #socket: Socket;
  readonly #req: { readonly headers: IncomingHttpHeaders };
  #peer: string | undefined | null = null;
  #headers: Record<string, string> | null = null;

  constructor(socket: Socket, req: { readonly headers: IncomingHttpHeaders }, secure: boolean) {
    this.#socket = socket;
    this.#req = req;
    this.secure = secure;
  }

  get peer(): string | undefined {
    if (this.#peer === null) this.#peer = peerOf(this.#socket);
    return this.#peer;
  }

  get httpHeaders(): Record<string, string> {
    return (this.#headers ??= headersOf(this.#req.headers));
  }

  toJSON(): WampTransportInfo {
    const { type, serializer, protocol, secure, peer, httpHeaders } = this;
    return { type, serializer, protocol, secure, httpHeaders, ...(peer === undefined ? {} : { peer }) };
  }
}
for (const name of ['peer', 'httpHeaders']) {
  Object.defineProperty(ChannelInfo.prototype, name, { ...Object.getOwnPropertyDescriptor(ChannelInfo.prototype, name), enumerable: true });
}

/**
 * Accepts WAMP connections on one port (WebSocket, RawSocket, HTTP static) and
 * hands each to `onTransport`.
 *
 * @example
 * ```ts
 * import { WampListener } from 'autostrada/server';
 * const listener = new WampListener((transport) => transport.close(1001, 'no router here'), { port: 0, static: false });
 * const addr = await listener.listen();
 * console.log('WAMP on', addr.port);
 * await listener.close();
 * ```
 */
export class WampListener {
  private readonly options: WampListenerOptions;
  private readonly onTransport: (transport: WampTransport) => void;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer | null;
  private readonly paths: Set<string>;
  private readonly servers: NetServer[] = [];
  /** Connections not handed over yet (waiting for their first bytes, or in the RawSocket handshake). */
  private readonly sockets = new Set<Socket>();
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private readonly attached: HttpServer[] = [];
  private readonly onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => this.upgrade(req, socket, head);

  constructor(onTransport: (transport: WampTransport) => void, options: WampListenerOptions = {}) {
    this.options = options;
    this.onTransport = onTransport;
    const ws = options.websocket === false ? null : (options.websocket ?? {});
    this.paths = new Set(ws ? (Array.isArray(ws.path) ? ws.path : [ws.path ?? '/ws']) : []);
    if (ws) {
      const protocols = ws.protocols ?? ROUTER_SUBPROTOCOLS;
      this.wss = new WebSocketServer({
        noServer: true,
        path: [...this.paths],
        handleProtocols: (offered) => protocols.find((p) => offered.includes(p)) ?? false,
        // A WAMP endpoint without a WAMP subprotocol is useless: refuse the upgrade.
        verifyClient: (info) =>
          info.handshake.protocols.some((p) => protocols.includes(p)) || {
            status: 400,
            message: `no supported WAMP subprotocol offered (supported: ${protocols.join(', ')})`,
          },
        perMessageDeflate: ws.perMessageDeflate ?? true,
        maxMessageSize: ws.maxMessageSize ?? MAX_MESSAGE_DEFAULT,
        ...(ws.heartbeat ? { heartbeat: ws.heartbeat } : {}),
      });
    } else {
      this.wss = null;
    }
    const staticOpt = options.static ?? false;
    const serve = staticOpt ? createStaticHandler(staticOpt.root, { files: staticOpt.files ?? {} }) : null;
    this.http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
      if (serve) serve(req, res);
      else {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found\n');
      }
    });
    this.http.headersTimeout = options.openTimeout ?? 10_000;
    this.http.requestTimeout = 30_000;
    this.http.on('upgrade', this.onUpgrade);
    this.http.on('clientError', (_err, socket) => socket.destroy());
  }

  /**
   * Starts listening on the port (and Unix paths).
   * @returns the TCP address actually bound
   */
  async listen(): Promise<AddressInfo> {
    const o = this.options;
    const main = o.tls ? createTlsServer(o.tls) : createNetServer({ noDelay: true });
    main.on(o.tls ? 'secureConnection' : 'connection', (socket: Socket) => this.accept(socket, o.rawsocket !== false, true));
    if (o.tls) main.on('tlsClientError', (_e: Error, socket: Socket) => socket.destroy());
    await listenOn(main, () => main.listen(o.port ?? 8080, o.host ?? '127.0.0.1'));
    this.servers.push(main);
    for (const path of o.unixPaths ?? []) {
      rmSync(path, { force: true });
      const unix = createNetServer();
      unix.on('connection', (socket: Socket) => this.accept(socket, true, false));
      await listenOn(unix, () => unix.listen(path));
      this.servers.push(unix);
    }
    return main.address() as AddressInfo;
  }

  /** Serves WAMP over WebSocket on an existing http(s) server's `upgrade` event (paths of this listener only). */
  attach(server: HttpServer): void {
    server.on('upgrade', this.onUpgrade);
    this.attached.push(server);
  }

  /** Stops accepting, closes every connection not yet handed over, and the listeners. Transports already handed over are the router's to close. */
  async close(): Promise<void> {
    for (const s of this.attached) s.off('upgrade', this.onUpgrade);
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.stopSweepIfIdle();
    // Idle keep-alive HTTP connections (browsers hold them) would keep close() waiting.
    this.http.closeAllConnections();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
  }

  /**
   * A fresh connection: wait for its first bytes, then RawSocket or HTTP.
   * Shared listener functions and one sweep timer for all waiting sockets, not
   * closures and a timer per connection (bench:router, handshakes).
   */
  private accept(socket: Socket, rawsocket: boolean, http: boolean): void {
    (socket as FreshSocket)[kFresh] = { listener: this, rawsocket, http, started: Date.now() };
    this.sockets.add(socket);
    socket.on('error', destroyThis);
    socket.on('close', freshOnClose);
    socket.on('data', freshOnData);
    if (this.sweepTimer === null) {
      const timeout = this.options.openTimeout ?? 10_000;
      this.sweepTimer = setInterval(() => this.sweep(timeout), Math.max(50, Math.min(1000, timeout / 4)));
      this.sweepTimer.unref();
    }
  }

  /** Drops connections that sent nothing within `openTimeout`. */
  private sweep(timeout: number): void {
    const limit = Date.now() - timeout;
    for (const socket of this.sockets) {
      const f = (socket as FreshSocket)[kFresh];
      if (f && f.started <= limit) socket.destroy();
    }
    this.stopSweepIfIdle();
  }

  private stopSweepIfIdle(): void {
    if (this.sockets.size === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  /** @internal The socket is no longer waiting for its first bytes (it closed, or they came). */
  forget(socket: Socket): void {
    (socket as FreshSocket)[kFresh] = undefined;
    socket.off('close', freshOnClose);
    socket.off('data', freshOnData);
    this.sockets.delete(socket);
    this.stopSweepIfIdle();
  }

  /** @internal The first bytes of a fresh connection: RawSocket (0x7F) or HTTP. */
  firstBytes(socket: Socket, chunk: Buffer, rawsocket: boolean, http: boolean): void {
    socket.pause();
    this.forget(socket);
    if (chunk[0] === RAWSOCKET_MAGIC && rawsocket) {
      // Until the RawSocket handshake completes, close() must still reach it.
      this.sockets.add(socket);
      const done = (): void => {
        this.sockets.delete(socket);
        this.stopSweepIfIdle();
      };
      socket.once('close', done);
      const opts = this.options.rawsocket || {};
      acceptRawSocket(socket, {
        firstBytes: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
        ...(opts.serializers ? { serializers: opts.serializers } : {}),
        maxMessageSize: opts.maxMessageSize ?? MAX_MESSAGE_DEFAULT,
      }).then(
        (transport) => {
          socket.off('close', done);
          done();
          this.onTransport(transport);
        },
        () => socket.destroy(),
      );
    } else if (http) {
      if (this.wss) {
        // WebSocket upgrades through our own head parser (about half node:http's
        // cost per handshake); any other request, with the bytes read so far,
        // goes on to node:http.
        this.wss.acceptSocket(socket, {
          received: chunk,
          onConnection: (ws, req) => this.serve(ws, socket, req),
          fallback: (s, bytes) => this.toHttp(s, bytes),
        });
      } else {
        this.toHttp(socket, chunk);
      }
    } else {
      socket.destroy();
    }
  }

  private toHttp(socket: Socket, bytes: Buffer): void {
    socket.unshift(bytes);
    this.http.emit('connection', socket);
    socket.resume();
  }

  /** Upgrades that reach node:http (a server we are attached to, or a request our parser handed over). */
  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    if (!this.wss || !this.paths.has(path)) {
      socket.on('error', () => {});
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocketConnection) => this.serve(ws, socket, req));
  }

  /** A WebSocket is open: make it a WAMP transport. */
  private serve(ws: WebSocketConnection, socket: Socket, req: { readonly url?: string | undefined; readonly headers: IncomingHttpHeaders }): void {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    if (!this.paths.has(path)) {
      ws.closeWithCode(1008, 'no WAMP endpoint here');
      return;
    }
    const secure = (socket as Socket & { encrypted?: boolean }).encrypted === true;
    let transport: WampTransport;
    try {
      transport = new WebSocketTransport(ws, { serializers: ALL_SERIALIZERS, info: new ChannelInfo(socket, req, secure) });
    } catch {
      ws.closeWithCode(1002, 'no WAMP subprotocol');
      return;
    }
    this.onTransport(transport);
  }
}

const kFresh = Symbol('autostrada.freshConnection');
interface Fresh {
  readonly listener: WampListener;
  readonly rawsocket: boolean;
  readonly http: boolean;
  readonly started: number;
}
type FreshSocket = Socket & { [kFresh]?: Fresh | undefined };

// Shared listeners (`this` is the socket): no closures per connection.
function destroyThis(this: Socket): void {
  this.destroy();
}

function freshOnClose(this: Socket): void {
  const f = (this as FreshSocket)[kFresh];
  if (f) f.listener.forget(this);
}

function freshOnData(this: Socket, chunk: Buffer): void {
  const f = (this as FreshSocket)[kFresh];
  if (f) f.listener.firstBytes(this, chunk, f.rawsocket, f.http);
}

function listenOn(server: NetServer, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    start();
  });
}

// ------------------------------------------------------------------ Router

/** Message counters of every transport the router serves. */
export interface TrafficCounters {
  /** WAMP messages received from clients. */
  messagesIn: number;
  /** WAMP messages sent to clients. */
  messagesOut: number;
}

/**
 * Wraps a transport so every message in and out is counted: one increment per
 * message, nothing copied. A class (shared prototype methods, two fields) —
 * an object of closures cost ~1.2 KB per idle session (bench:router).
 */
class CountingTransport implements WampTransport, WampTransportHandler {
  private handler: WampTransportHandler | null = null;
  constructor(
    private readonly inner: WampTransport,
    private readonly counters: TrafficCounters,
  ) {}
  get info(): WampTransportInfo {
    return this.inner.info;
  }
  get bufferedAmount(): number {
    return this.inner.bufferedAmount;
  }
  get isOpen(): boolean {
    return this.inner.isOpen;
  }
  open(handler: WampTransportHandler): void {
    this.handler = handler;
    this.inner.open(this);
  }
  send(msg: WampMessage): void {
    this.counters.messagesOut++;
    this.inner.send(msg);
  }
  close(code?: number, reason?: string): void {
    this.inner.close(code, reason);
  }
  /** @internal */
  onMessage(msg: WampMessage): void {
    this.counters.messagesIn++;
    this.handler!.onMessage(msg);
  }
  /** @internal */
  onProtocolError(error: WampProtocolError | SerializationError): void {
    this.handler!.onProtocolError(error);
  }
  /** @internal */
  onClose(info: WampTransportCloseInfo): void {
    this.handler!.onClose(info);
  }
  /** @internal */
  onDrain(): void {
    this.handler!.onDrain?.();
  }
}

/** Wraps a transport so every message in and out is counted in `counters`. */
export function countingTransport(inner: WampTransport, counters: TrafficCounters): WampTransport {
  return new CountingTransport(inner, counters);
}

/** Options of the Node {@link Router}: the core's, plus where to listen. */
export interface RouterServerOptions extends RouterOptions {
  /** Defaults for {@link Router.listen}. */
  listen?: WampListenerOptions;
}

/**
 * The WAMP router with its network front: `listen()` on one port (WebSocket,
 * RawSocket and HTTP static files), or `attachTo()` an existing http(s)
 * server's WebSocket upgrades — or both, several times.
 *
 * @example
 * ```ts
 * import { Router } from 'autostrada/server';
 * const router = new Router({ realms: [{ name: 'realm1' }] });
 * const { port } = await router.listen({ port: 0, static: false });
 * console.log(`WAMP at ws://127.0.0.1:${port}/ws and rawsocket://127.0.0.1:${port}`);
 * await router.close();
 * ```
 */
export class Router extends RouterCore {
  /** Messages in and out since start. */
  readonly traffic: TrafficCounters = { messagesIn: 0, messagesOut: 0 };
  /** When the router was created (ms since the epoch). */
  readonly startedAt = Date.now();
  private readonly listeners: WampListener[] = [];
  private readonly listenDefaults: WampListenerOptions;

  constructor(options: RouterServerOptions = {}) {
    const { listen, ...core } = options;
    super(core);
    this.listenDefaults = listen ?? {};
  }

  /** Serves one transport (counted in {@link traffic}). */
  override attach(transport: WampTransport, options?: AttachOptions): void {
    super.attach(countingTransport(transport, this.traffic), options);
  }

  /**
   * Listens on a port: WebSocket at `/ws`, RawSocket, static files if configured.
   * @returns the bound address
   */
  async listen(options: WampListenerOptions = {}): Promise<AddressInfo> {
    const listener = new WampListener((t) => this.attach(t), { ...this.listenDefaults, ...options });
    const addr = await listener.listen();
    this.listeners.push(listener);
    return addr;
  }

  /** Serves WAMP over WebSocket on an existing http(s) server (at `websocket.path`, default `/ws`). */
  attachTo(server: HttpServer, options: Pick<WampListenerOptions, 'websocket'> = {}): void {
    const listener = new WampListener((t) => this.attach(t), { websocket: options.websocket ?? this.listenDefaults.websocket ?? {} });
    listener.attach(server);
    this.listeners.push(listener);
  }

  /** GOODBYE to every session, then stop listening. */
  override async close(): Promise<void> {
    const listeners = this.listeners.splice(0);
    await Promise.all([super.close(), ...listeners.map((l) => l.close())]);
  }
}
