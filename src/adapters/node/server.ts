/**
 * WebSocket server for Node: listen standalone (ws:// or wss://) or attach
 * to an existing http/https server's `upgrade` event; route by path; choose
 * the subprotocol; verify origin and client; negotiate permessage-deflate.
 */
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, Server as HttpServer } from 'node:http';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { createServer as createNetServer, type Server as NetServer, type Socket, type AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import * as nodeCrypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { WebSocketConnection, type ConnectionOptions } from '../../connection.js';
import { WebSocketError } from '../../core/ws/errors.js';
import {
  buildAcceptResponse,
  buildRejectResponse,
  HttpHeadParser,
  parseHead,
  parseUpgradeRequest,
  type HttpHead,
  type ServerHandshakeRequest,
} from '../../core/ws/handshake.js';
import type { DeflateOptions } from '../../core/deflate/negotiate.js';
import type { DeflateBackend } from '../../core/deflate/backend.js';
import type { PerMessageDeflate } from '../../core/deflate/codec.js';
import { negotiateServer, serverDeflateOptions, wantsWebSocket, type VerifyRejection } from '../negotiate.js';
import { nodeZlibBackend } from './zlib-backend.js';
import { SocketTransport, nodeHooks } from './transport.js';
import { DEFAULT_LIMITS, WS_GUID } from '../../core/ws/constants.js';

/**
 * The upgrade request as callbacks see it: the `http.IncomingMessage` when
 * attached to an http server; an object of the same shape when the server
 * listens standalone (it parses the request itself, which halves the CPU
 * cost of a handshake — measured with `npm run bench:ws`).
 */
export interface UpgradeRequest {
  method?: string | undefined;
  url?: string | undefined;
  httpVersion: string;
  /** Lower-case names; repeated headers joined with ', ' (set-cookie aside). */
  headers: IncomingHttpHeaders;
  /** Names and values as received, alternating. */
  rawHeaders: string[];
  socket: Socket;
}

/** What `verifyClient` sees. */
export interface VerifyClientInfo {
  req: UpgradeRequest;
  /** Origin header (Sec-WebSocket-Origin for version 8), or null. */
  origin: string | null;
  /** The connection is TLS. */
  secure: boolean;
  /** The parsed handshake (path, protocols, extensions offered). */
  handshake: ServerHandshakeRequest;
}

export type { VerifyRejection };

export interface WebSocketServerOptions extends ConnectionOptions {
  /** Listen on this port (0 = ephemeral). Omit with `server` or `noServer`. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Attach to this existing http(s) server's `upgrade` event. */
  server?: HttpServer;
  /** Do not listen or attach: call handleUpgrade() yourself. */
  noServer?: boolean;
  /** TLS options: listen with https (wss://). */
  tls?: HttpsServerOptions;
  /** Accept upgrades only on this path (or these paths). */
  path?: string | string[];
  /**
   * Subprotocols this server speaks, in preference order: the first of these
   * that the client offered is chosen. Ignored when `handleProtocols` is set.
   */
  protocols?: string[];
  /** Choose a subprotocol from the client's offers; return false for none. */
  handleProtocols?: (offered: string[], req: UpgradeRequest) => string | false;
  /** Accept or reject a client (origin checks, auth). */
  verifyClient?: (info: VerifyClientInfo) => boolean | VerifyRejection | Promise<boolean | VerifyRejection>;
  /** permessage-deflate: false (default), true, or options. */
  perMessageDeflate?: boolean | DeflateOptions;
  /** DEFLATE implementation. Default node:zlib (`nodeZlibBackend`); e.g. `pakoBackend` for pure JS. */
  deflateBackend?: DeflateBackend;
  /** Largest upgrade request head. Default 16 KiB. */
  maxHandshakeSize?: number;
  /**
   * Time allowed for the upgrade request to arrive, ms, and again for an
   * asynchronous `verifyClient` to answer (then 503). Default 10000.
   */
  openTimeout?: number;
}

type ConnectionListener = (ws: WebSocketConnection, req: UpgradeRequest) => void;

/**
 * @example
 * ```ts
 * import { WebSocketServer } from 'autostrada/server';
 * const wss = new WebSocketServer({ port: 0, perMessageDeflate: true });
 * wss.on('connection', (ws) => {
 *   ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary });
 * });
 * await wss.ready();
 * console.log('listening on', wss.address()?.port);
 * ```
 */
export class WebSocketServer extends EventEmitter {
  readonly options: WebSocketServerOptions;
  /** Open connections. */
  readonly clients = new Set<WebSocketConnection>();
  private readonly server: HttpServer | NetServer | null;
  /** Sockets accepted by the standalone listener whose handshake is not done. */
  private readonly pending = new Set<PendingHandshake>();
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private readonly maxHead: number;
  private readonly emitConnection = (ws: WebSocketConnection, req: UpgradeRequest): void => {
    this.emit('connection', ws, req);
  };
  private readonly ownsServer: boolean;
  private readonly listening: Promise<void>;
  private readonly paths: Set<string> | null;
  private readonly deflate: DeflateOptions | null;
  private readonly onUpgrade: (req: IncomingMessage, socket: Socket, head: Buffer) => void;

  constructor(options: WebSocketServerOptions = {}) {
    super();
    this.options = options;
    this.maxHead = options.maxHandshakeSize ?? DEFAULT_LIMITS.maxHandshakeSize;
    this.paths = options.path === undefined ? null : new Set(Array.isArray(options.path) ? options.path : [options.path]);
    this.deflate = serverDeflateOptions(options.perMessageDeflate);
    this.onUpgrade = (req, socket, head) => {
      const server = this.server;
      if (this.paths && !this.paths.has(pathOf(req.url)) && server && server.listenerCount('upgrade') > 1) {
        // Another WebSocketServer on this http server may own the path. If none
        // took the socket by the end of this dispatch, refuse it: unanswered, the
        // paused socket would hang (and keep http.Server#close() from finishing).
        // A listener of the user's own may answer later: then leave it alone.
        queueMicrotask(() => {
          if (claimed.has(socket) || !server.listeners('upgrade').every((l) => ownListeners.has(l))) return;
          claimed.add(socket);
          socket.on('error', noop);
          reject(socket, new WebSocketError('WS_ERR_HANDSHAKE_REJECTED', `no WebSocket endpoint at ${pathOf(req.url)}`, 0, 404));
        });
        return;
      }
      this.handleUpgrade(req, socket, head, (ws) => this.emit('connection', ws, req));
    };
    ownListeners.add(this.onUpgrade);
    if (options.noServer) {
      this.server = null;
      this.ownsServer = false;
      this.listening = Promise.resolve();
    } else if (options.server) {
      this.server = options.server;
      this.ownsServer = false;
      this.server.on('upgrade', this.onUpgrade);
      this.listening = Promise.resolve();
    } else {
      // Standalone: accept raw TCP/TLS sockets and parse the upgrade request
      // ourselves — no node:http parser, IncomingMessage or ServerResponse per
      // connection (the handshake row of the benchmark).
      const server = options.tls ? createTlsServer(options.tls) : createNetServer({ noDelay: true });
      server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => this.accept(socket));
      if (options.tls) server.on('tlsClientError', (_err: Error, socket: Socket) => socket.destroy());
      this.server = server;
      this.ownsServer = true;
      this.listening = new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          this.emit('listening');
          resolve();
        });
      });
    }
  }

  /** Resolves once listening (immediately for attached / noServer mode). */
  ready(): Promise<void> {
    return this.listening;
  }

  /** The listening address (standalone mode), else the attached server's. */
  address(): AddressInfo | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : null;
  }

  override on(event: 'connection', listener: ConnectionListener): this;
  override on(event: 'listening' | 'close', listener: () => void): this;
  override on(event: 'error', listener: (err: Error) => void): this;
  override on(event: string, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  /**
   * Complete a WebSocket handshake on an `upgrade` request. On success calls
   * `cb` with the open connection; on failure answers with an HTTP error and
   * destroys the socket.
   */
  handleUpgrade(req: IncomingMessage, duplex: Duplex, head: Buffer, cb: (ws: WebSocketConnection) => void): void {
    // node:http types the upgrade socket as a Duplex; it is a net.Socket (or tls.TLSSocket).
    const socket = duplex as Socket;
    claimed.add(socket);
    socket.on('error', noop);
    const maxHead = this.options.maxHandshakeSize ?? DEFAULT_LIMITS.maxHandshakeSize;
    if (headSize(req) > maxHead) {
      reject(socket, new WebSocketError('WS_ERR_HANDSHAKE_TOO_BIG', 'handshake too big', 0, 431));
      return;
    }
    this.upgrade(req, toHttpHead(req), socket, head, cb);
  }

  /**
   * Serves one fresh socket with the standalone (fast) upgrade parser, for a
   * listener of your own that shares its port: `received` are bytes already
   * read from it (they are parsed first); a request that is not a WebSocket
   * upgrade goes, with every byte read so far, to `fallback` (typically
   * `socket.unshift(bytes)` and an http.Server's `connection` event) instead
   * of being answered 426. The socket is paused when `fallback` runs.
   */
  acceptSocket(
    socket: Socket,
    options: {
      received?: Buffer;
      onConnection: (ws: WebSocketConnection, req: UpgradeRequest) => void;
      fallback?: (socket: Socket, received: Buffer) => void;
    },
  ): void {
    const p = this.accept(socket, options.onConnection, options.fallback ?? null);
    if (options.received && options.received.length > 0) pendingOnData.call(socket, options.received);
    // Read on (the caller may have paused it) unless the fallback took the socket.
    if (!socket.destroyed && !p.handedOver) socket.resume();
  }

  /** Standalone listener: read the request head from a fresh socket, bounded in size and time. */
  private accept(
    socket: Socket,
    onConnection: (ws: WebSocketConnection, req: UpgradeRequest) => void = this.emitConnection,
    fallback: ((socket: Socket, received: Buffer) => void) | null = null,
  ): PendingHandshake {
    const pending = new PendingHandshake(this, socket, new HttpHeadParser(this.maxHead), Date.now(), onConnection, fallback);
    (socket as PendingSocket)[kPending] = pending;
    this.pending.add(pending);
    socket.on('error', noop);
    socket.on('data', pendingOnData);
    socket.on('close', pendingOnClose);
    this.armSweep();
    return pending;
  }

  /** @internal A pending handshake ended (completed, refused or dropped). */
  settle(p: PendingHandshake): void {
    this.pending.delete(p);
    const socket = p.socket;
    // Drop the parser with it: an idle connection must not keep it alive.
    (socket as Socket & { [kPending]?: PendingHandshake | undefined })[kPending] = undefined;
    socket.off('data', pendingOnData);
    socket.off('close', pendingOnClose);
    if (this.pending.size === 0 && this.sweepTimer) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  /** @internal The whole head of a pending handshake arrived. */
  requestArrived(socket: Socket, head: HttpHead, text: string, rest: Uint8Array, p: PendingHandshake): void {
    const upgrade = head.headers.get('upgrade');
    if (!wantsWebSocket(upgrade) && p.fallback && p.received) {
      // Not for us: hand the socket, and everything read from it, to the fallback.
      socket.pause();
      p.handedOver = true;
      p.fallback(socket, p.received.length === 1 ? (p.received[0] as Buffer) : Buffer.concat(p.received));
      return;
    }
    if (!wantsWebSocket(upgrade)) {
      // A plain HTTP request to a WebSocket-only endpoint.
      if (!socket.destroyed) socket.end(buildRejectResponse(426, { headers: [['Upgrade', 'websocket']], body: 'Upgrade Required' }));
      return;
    }
    const restBuf = rest.length === 0 ? EMPTY_BUFFER : Buffer.from(rest.buffer, rest.byteOffset, rest.length);
    const req = new StandaloneRequest(head, text, socket);
    this.upgrade(req, head, socket, restBuf, p.onConnection);
    req.release();
  }

  /**
   * One timer for all pending handshakes (as node:http checks its header
   * timeout), not one per connection: every object per handshake costs.
   */
  private armSweep(): void {
    if (this.sweepTimer) return;
    const openTimeout = this.options.openTimeout ?? 10_000;
    this.sweepTimer = setInterval(() => {
      const limit = Date.now() - openTimeout;
      for (const p of this.pending) {
        if (p.started > limit) continue;
        this.settle(p);
        reject(p.socket, new WebSocketError('WS_ERR_OPEN_TIMEOUT', 'request timeout', 0, 408));
      }
    }, Math.max(50, Math.min(1000, openTimeout / 4)));
    this.sweepTimer.unref();
  }


  /** The handshake proper, shared by both front ends. */
  private upgrade(req: UpgradeRequest, httpHead: HttpHead, socket: Socket, head: Buffer, cb: (ws: WebSocketConnection, req: UpgradeRequest) => void): void {
    let hs: ServerHandshakeRequest;
    try {
      if (this.paths && !this.paths.has(pathOf(req.url))) {
        throw new WebSocketError('WS_ERR_HANDSHAKE_REJECTED', `no WebSocket endpoint at ${pathOf(req.url)}`, 0, 404);
      }
      hs = parseUpgradeRequest(httpHead);
    } catch (err) {
      reject(socket, err);
      return;
    }
    const verify = this.options.verifyClient;
    if (!verify) {
      this.complete(req, socket, head, hs, cb);
      return;
    }
    const secure = 'encrypted' in socket && (socket as { encrypted?: boolean }).encrypted === true;
    let verdict: ReturnType<NonNullable<WebSocketServerOptions['verifyClient']>>;
    try {
      verdict = verify({ req, origin: hs.origin, secure, handshake: hs });
    } catch (err) {
      reject(socket, err);
      return;
    }
    if (verdict === true) {
      // The common answer, without a closure.
      this.complete(req, socket, head, hs, cb);
      return;
    }
    const decide = (v: boolean | VerifyRejection): void => {
      if (v === true) this.complete(req, socket, head, hs, cb);
      else if (v === false) reject(socket, new WebSocketError('WS_ERR_HANDSHAKE_REJECTED', 'client rejected', 0, 403));
      else {
        if (!socket.destroyed) {
          socket.end(buildRejectResponse(v.status, { ...(v.headers ? { headers: v.headers } : {}), ...(v.message ? { body: v.message } : {}) }));
        }
      }
    };
    if (verdict instanceof Promise) {
      // A verification that never answers must not hold the socket forever:
      // it gets openTimeout too (a timer only for asynchronous verdicts).
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(socket, new WebSocketError('WS_ERR_OPEN_TIMEOUT', 'verifyClient did not answer within openTimeout', 0, 503));
      }, this.options.openTimeout ?? 10_000);
      timer.unref();
      verdict.then(
        (v) => {
          if (settled) return;
          clearTimeout(timer);
          decide(v);
        },
        (err: unknown) => {
          if (settled) return;
          clearTimeout(timer);
          reject(socket, err);
        },
      );
    } else {
      decide(verdict);
    }
  }

  private complete(req: UpgradeRequest, socket: Socket, head: Buffer, hs: ServerHandshakeRequest, cb: (ws: WebSocketConnection, req: UpgradeRequest) => void): void {
    if (socket.destroyed || !socket.writable) return;
    let protocol = '';
    let extensions = '';
    let codec: PerMessageDeflate | null = null;
    try {
      ({ protocol, extensions, codec } = negotiateServer(
        hs,
        {
          protocols: this.options.protocols,
          handleProtocols: this.options.handleProtocols,
          deflate: this.deflate,
          backend: this.options.deflateBackend ?? nodeZlibBackend,
          maxMessageSize: this.options.maxMessageSize,
        },
        req,
      ));
    } catch (err) {
      reject(socket, new WebSocketError('WS_ERR_INTERNAL', err instanceof Error ? err.message : String(err), 0, 500));
      return;
    }
    const response = buildAcceptResponse({
      accept: nodeAccept(hs.key),
      ...(protocol ? { protocol } : {}),
      ...(extensions ? { extensions } : {}),
    });
    socket.off('error', noop);
    socket.write(response, 'latin1');
    const ws = new WebSocketConnection(req.url ?? '/', this.options, nodeHooks);
    const transport = new SocketTransport(socket, ws);
    this.clients.add(ws);
    ws._owner = this;
    ws._codec = codec;
    ws.attach(transport, { role: 'server', protocol, extensions, deflate: codec });
    cb(ws, req);
    if (head.length > 0) ws.receive(head);
  }

  /** @internal A connection of ours closed. */
  connectionClosed(ws: WebSocketConnection): void {
    this.clients.delete(ws);
    if (ws._codec) ws._codec.close();
  }

  /**
   * Stop accepting; close every connection with 1001 (going away) and wait
   * for them (bounded by closeTimeout).
   */
  async close(): Promise<void> {
    if (this.server) this.server.off('upgrade', this.onUpgrade);
    for (const p of this.pending) p.socket.destroy();
    this.pending.clear();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    const closing = [...this.clients].map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.addEventListener('close', () => resolve());
          try {
            if (ws.readyState === WebSocketConnection.OPEN) {
              ws.closeWithCode(1001, 'server shutting down');
            } else ws.terminate();
          } catch {
            ws.terminate();
          }
        }),
    );
    if (this.ownsServer && this.server) {
      const s = this.server;
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    await Promise.all(closing);
    this.emit('close');
  }
}

function noop(): void {}

const EMPTY_BUFFER = Buffer.alloc(0);

const kPending = Symbol('autostrada.pendingHandshake');
type PendingSocket = Socket & { [kPending]: PendingHandshake };

/** A standalone-listener socket waiting for its upgrade request (bounded in size and time). */
class PendingHandshake {
  /** With a fallback: every chunk read, to give back if the request is not an upgrade. */
  readonly received: Buffer[] | null;
  /** The fallback took the socket. */
  handedOver = false;
  constructor(
    readonly server: WebSocketServer,
    readonly socket: Socket,
    readonly parser: HttpHeadParser,
    readonly started: number,
    readonly onConnection: (ws: WebSocketConnection, req: UpgradeRequest) => void,
    readonly fallback: ((socket: Socket, received: Buffer) => void) | null,
  ) {
    this.received = fallback ? [] : null;
  }
}

// Shared listeners (`this` is the socket): no closures per connection.
function pendingOnData(this: Socket, chunk: Buffer): void {
  const p = (this as PendingSocket)[kPending];
  p.received?.push(chunk);
  let res: { head: HttpHead; rest: Uint8Array; text: string } | null;
  try {
    res = p.parser.push(chunk);
  } catch (err) {
    p.server.settle(p);
    reject(this, err);
    return;
  }
  if (!res) return;
  p.server.settle(p);
  p.server.requestArrived(this, res.head, res.text, res.rest, p);
}

function pendingOnClose(this: Socket): void {
  const p = (this as PendingSocket)[kPending];
  if (p) p.server.settle(p);
}

/** Sockets some WebSocketServer has taken on (see the path routing in the constructor). */
const claimed = new WeakSet<object>();
/** The `upgrade` listeners that belong to WebSocketServers. */
const ownListeners = new WeakSet<object>();

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * The standalone listener's stand-in for http.IncomingMessage. `headers`
 * and `rawHeaders` are built on first access: most connections never read
 * them, and every object per handshake costs (docs/ARCHITECTURE.md). Once the
 * connection is open it keeps only the head's text (one string) and parses it
 * again if asked: the parsed form was ~1 KB per idle connection.
 */
class StandaloneRequest implements UpgradeRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  readonly socket: Socket;
  private head: HttpHead | null;
  private readonly text: string;
  private headersCache: IncomingHttpHeaders | null = null;
  private rawCache: string[] | null = null;

  constructor(head: HttpHead, text: string, socket: Socket) {
    this.head = head;
    this.text = text;
    this.socket = socket;
    const [method, url, version] = head.startLine;
    // The usual values as literals (shared), not slices of the head.
    this.method = method === 'GET' ? 'GET' : method;
    this.url = url;
    this.httpVersion = version === 'HTTP/1.1' ? '1.1' : version.startsWith('HTTP/') ? version.slice(5) : version;
  }

  private parsed(): HttpHead {
    return (this.head ??= parseHead(this.text));
  }

  /** @internal The handshake is done: drop the parsed head (kept: its text). */
  release(): void {
    this.head = null;
  }

  get headers(): IncomingHttpHeaders {
    if (this.headersCache === null) {
      const headers: IncomingHttpHeaders = {};
      for (const [k, v] of this.parsed().headers) headers[k] = v;
      this.headersCache = headers;
      this.head = null;
    }
    return this.headersCache;
  }

  get rawHeaders(): string[] {
    return (this.rawCache ??= this.parsed().rawHeaders);
  }
}

function headSize(req: IncomingMessage): number {
  let n = (req.url?.length ?? 0) + 16;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i++) n += (raw[i] as string).length + 2;
  return n;
}

/** node:http has parsed the request; present it in the core's shape. */
function toHttpHead(req: IncomingMessage): HttpHead {
  const headers = new Map<string, string>();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const key = name.toLowerCase();
    const prev = headers.get(key);
    headers.set(key, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { startLine: [req.method ?? 'GET', req.url ?? '/', `HTTP/${req.httpVersion}`], headers, rawHeaders: raw };
}

function reject(socket: Socket, err: unknown): void {
  const status = err instanceof WebSocketError && err.status ? err.status : 400;
  const headers: Array<[string, string]> = [];
  if (status === 426) headers.push(['Sec-WebSocket-Version', '13, 8']);
  if (!socket.destroyed && socket.writable) {
    // Internal details stay off the wire: a status and its reason phrase only.
    socket.end(buildRejectResponse(status, { headers }));
  }
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * Sec-WebSocket-Accept (RFC 6455 §4.2.2) with node:crypto's own base64: 2x
 * faster than the generic path; the one-shot `crypto.hash` (Node >= 20.12)
 * is 2.5x faster again than a Hash object. The key is ASCII (validated
 * base64), so its UTF-8 and latin1 bytes are the same.
 */
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'base64') => string }).hash;
function nodeAccept(key: string): string {
  if (oneShotHash) return oneShotHash('sha1', key + WS_GUID, 'base64');
  return createHash('sha1').update(key + WS_GUID, 'latin1').digest('base64');
}

