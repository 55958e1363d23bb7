/**
 * WAMP over RawSocket on Node: TCP, TLS and Unix domain sockets (WAMP
 * Advanced Profile, "RawSocket Transport").
 *
 * - {@link connectRawSocket}: client; connects, runs the handshake, resolves
 *   with an open {@link RawSocketTransport}.
 * - {@link acceptRawSocket}: router side on a socket someone else accepted
 *   (e.g. a listener shared with HTTP/WebSocket that sniffed the first octet
 *   0x7F); runs the handshake, resolves with the transport.
 * - {@link RawSocketServer}: a small listener doing the above per connection.
 *
 * All protocol work happens in the sans-I/O {@link RawSocketProtocol}; this
 * module only moves bytes, owns the timers (handshake timeout, heartbeat,
 * close timeout) and maps socket endings onto {@link WampTransportCloseInfo}:
 *
 * | how it ended | code | wasClean |
 * |---|---|---|
 * | our `close(code, reason)` | `code` as given (default 1000) | true |
 * | the peer closed between messages | 1000 | true |
 * | the peer vanished mid-frame, reset, or heartbeat timeout | 1006 | false |
 * | the peer broke framing (reserved bits/type, bad length) | 1002 | false |
 * | the peer sent more than our announced limit | 1009 | false |
 * | our send queue went over `maxBufferedAmount` | 1008 | false |
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import {
  connect as tlsConnect,
  createServer as createTlsServer,
  type ConnectionOptions as TlsConnectionOptions,
  type TLSSocket,
  type TlsOptions,
} from 'node:tls';
import { RawSocketCloseCode, RawSocketError, type RawSocketHandshakeErrorNumber } from '../../core/rawsocket/errors.js';
import { RawSocketHandshakeError } from '../../core/rawsocket/errors.js';
import { RawSocketProtocol, type RawSocketEvent } from '../../core/rawsocket/protocol.js';
import { serializers, serializersByRawSocketId, SerializationError, type Serializer, type SerializerId } from '../../wamp/serializers/index.js';
import {
  MessageTransport,
  type MessageTransportOptions,
  type WampTransportCloseInfo,
  type WampTransportInfo,
} from '../../wamp/transport.js';

/** Options shared by both sides. */
export interface RawSocketTransportOptions extends MessageTransportOptions {
  /**
   * Largest WAMP message we receive, in octets. Announced in the handshake
   * rounded up to a power of two (512 B … 16 MiB); the announced value is
   * enforced. Default 16 MiB.
   */
  maxMessageSize?: number;
  /**
   * Most octets queued on the socket for sending. A send that would go over
   * it (while something is queued) fails the connection with 1008 and
   * RAWSOCKET_ERR_SEND_QUEUE_FULL instead of buffering without bound; watch
   * {@link RawSocketTransport.bufferedAmount} and `onDrain` to stay under it.
   * Default 64 MiB.
   */
  maxBufferedAmount?: number;
  /** Time allowed for the opening handshake, ms (after TCP/TLS connect). Default 10000. */
  handshakeTimeout?: number;
  /** After `close()`, destroy the socket if the peer has not closed within this many ms. Default 5000. */
  closeTimeout?: number;
  /**
   * Send a RawSocket PING every `interval` ms and fail the connection (1006,
   * RAWSOCKET_ERR_PING_TIMEOUT) when its PONG is not back within `timeout` ms.
   * Default off: Autobahn|Python's Twisted transport does not understand PING.
   */
  heartbeat?: { interval: number; timeout: number };
}

/** Where {@link connectRawSocket} connects: TCP (`host`, `port`) or a Unix socket (`path`). */
export type RawSocketAddress = { host?: string; port: number; path?: undefined } | { path: string; host?: undefined; port?: undefined };

/** Options of {@link connectRawSocket}. */
export type ConnectRawSocketOptions = RawSocketAddress &
  RawSocketTransportOptions & {
    /** Serializer to request. Default `'json'` (every router speaks it). */
    serializer?: SerializerId;
    /** Connect with TLS: `true`, or node:tls connect options (ca, servername, rejectUnauthorized, …). */
    tls?: boolean | TlsConnectionOptions;
    /** Time allowed for TCP (+ TLS) connect, ms. Default 10000. */
    connectTimeout?: number;
    /** Abort the attempt. */
    signal?: AbortSignal;
  };

/** Options of {@link acceptRawSocket}. */
export interface AcceptRawSocketOptions extends RawSocketTransportOptions {
  /** Serializers we accept. Default all three (`json`, `msgpack`, `cbor`). */
  serializers?: readonly SerializerId[];
  /** Octets already read from the socket (a listener that sniffed the 0x7F magic octet), processed first. */
  firstBytes?: Uint8Array;
  /** Refuse clients announcing a smaller receive limit (handshake error 2). Default 512 (any). */
  minPeerMaxLength?: number;
  /** Refuse the handshake with this error number (e.g. 4, connection limit reached). */
  refuse?: RawSocketHandshakeErrorNumber;
}

const DEFAULT_MAX_BUFFERED = 64 * 1024 * 1024;
const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
const DEFAULT_CLOSE_TIMEOUT = 5_000;
/** How long a refused client gets to read our error reply before the socket is destroyed. */
const REFUSAL_LINGER = 1_000;
const noop = (): void => {};

function peerOf(socket: Socket): string {
  const addr = socket.remoteAddress;
  if (!addr) return 'unix';
  return socket.remoteFamily === 'IPv6' ? `tcp6:${addr}:${socket.remotePort ?? 0}` : `tcp4:${addr}:${socket.remotePort ?? 0}`;
}

/**
 * TLS channel binding: `tls-exporter` (RFC 9266) on TLS 1.3, `tls-unique`
 * (RFC 5929: the first Finished message of the handshake, the client's on a
 * full handshake) before it.
 */
function channelBindingOf(socket: TLSSocket, isServer: boolean): { type: string; data: Uint8Array } | undefined {
  try {
    if (socket.getProtocol() === 'TLSv1.3') {
      return { type: 'tls-exporter', data: new Uint8Array(socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0))) };
    }
    const finished = isServer ? socket.getPeerFinished() : socket.getFinished();
    return finished ? { type: 'tls-unique', data: new Uint8Array(finished) } : undefined;
  } catch {
    return undefined;
  }
}

function channelInfo(socket: Socket, isServer: boolean): Pick<WampTransportInfo, 'peer' | 'secure' | 'channelBinding'> {
  const tls = (socket as Partial<TLSSocket>).encrypted === true;
  const binding = tls ? channelBindingOf(socket as TLSSocket, isServer) : undefined;
  return { peer: peerOf(socket), secure: tls, ...(binding ? { channelBinding: binding } : {}) };
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/**
 * Plain Uint8Array views (no copy) of Node's Buffers: msgpackr and cbor-x
 * return binary values of the input's class, and a WAMP payload's binary
 * should be a Uint8Array whatever the transport.
 */
function view(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const alloc = (n: number): Uint8Array => view(Buffer.allocUnsafe(n));

/**
 * Moves bytes between one socket and one {@link RawSocketProtocol}; until
 * the handshake completes it settles the pending connect/accept, afterwards
 * it feeds the {@link RawSocketTransport}.
 */
class Driver {
  transport: RawSocketTransport | null = null;
  private settle: ((t: RawSocketTransport | null, err: RawSocketError | null) => void) | null;
  private handshakeTimer: ReturnType<typeof setTimeout> | null = null;
  private lastError: Error | undefined;
  private ended = false;

  constructor(
    readonly socket: Socket,
    readonly proto: RawSocketProtocol,
    readonly options: RawSocketTransportOptions,
    private readonly isServer: boolean,
    settle: (t: RawSocketTransport | null, err: RawSocketError | null) => void,
  ) {
    this.settle = settle;
    socket.on('error', (err: Error) => {
      this.lastError = err;
    });
    if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    const ms = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      this.failHandshake(new RawSocketError('RAWSOCKET_ERR_HANDSHAKE_TIMEOUT', `no RawSocket handshake within ${ms} ms`, RawSocketCloseCode.ABNORMAL));
    }, ms);
    this.handshakeTimer.unref?.();
  }

  /** Start reading (after optional already-read octets). */
  start(firstBytes?: Uint8Array): void {
    this.flush();
    if (firstBytes && firstBytes.length) {
      this.proto.receiveData(new Uint8Array(firstBytes.buffer, firstBytes.byteOffset, firstBytes.byteLength));
      this.pump();
    }
    const s = this.socket;
    s.on('data', (chunk: Buffer) => {
      this.proto.receiveData(view(chunk));
      this.pump();
    });
    s.on('end', () => {
      this.proto.receiveEof();
      this.pump();
    });
    s.on('drain', () => this.transport?.onSocketDrain());
    s.on('close', () => this.onSocketClose());
    // A listener that sniffed the first octets may have paused the socket.
    s.resume();
  }

  /** Write what the protocol queued. */
  flush(): void {
    const chunks = this.proto.dataToSend();
    const s = this.socket;
    if (chunks.length === 0 || s.destroyed || s.writableEnded) return;
    if (chunks.length === 1) s.write(chunks[0] as Uint8Array);
    else {
      s.cork();
      for (const c of chunks) s.write(c);
      s.uncork();
    }
  }

  /** Handle what the protocol reported. */
  pump(): void {
    this.flush();
    const events = this.proto.eventsReceived();
    for (let i = 0; i < events.length; i++) {
      const ev = events[i] as RawSocketEvent;
      if (this.transport) {
        this.transport.onEvent(ev);
        continue;
      }
      if (ev.type === 'open') {
        this.clearHandshakeTimer();
        const serializer = serializersByRawSocketId.get(ev.serializer) as Serializer;
        const info: WampTransportInfo = {
          type: 'rawsocket',
          serializer: serializer.id,
          protocol: `wamp.2.${serializer.id}`,
          ...channelInfo(this.socket, this.isServer),
        };
        this.transport = new RawSocketTransport(this, serializer, info, this.options);
        const settle = this.settle;
        this.settle = null;
        settle?.(this.transport, null);
      } else if (ev.type === 'error') {
        this.failHandshake(ev.error);
      }
    }
  }

  private failHandshake(err: RawSocketError): void {
    this.clearHandshakeTimer();
    const settle = this.settle;
    this.settle = null;
    if (!settle) return;
    const s = this.socket;
    // An error reply (server side) is written by flush(); let it reach the
    // client, then make sure the socket goes away.
    if (err.handshakeError !== 0 && this.isServer && !s.destroyed) {
      s.end();
      setTimeout(() => s.destroy(), REFUSAL_LINGER).unref?.();
    } else s.destroy();
    settle(null, err);
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  private onSocketClose(): void {
    if (this.ended) return;
    this.ended = true;
    this.clearHandshakeTimer();
    if (this.settle) {
      const settle = this.settle;
      this.settle = null;
      settle(
        null,
        new RawSocketError('RAWSOCKET_ERR_CONNECTION_LOST', 'connection closed during the RawSocket handshake', RawSocketCloseCode.ABNORMAL, 0, {
          cause: this.lastError,
        }),
      );
      return;
    }
    this.transport?.onSocketClose(this.lastError);
  }
}

/**
 * One WAMP connection over RawSocket: a {@link MessageTransport} (messages in
 * and out, validated) on a Node socket. Get one from {@link connectRawSocket},
 * {@link acceptRawSocket} or {@link RawSocketServer}.
 */
export class RawSocketTransport extends MessageTransport {
  readonly info: WampTransportInfo;
  private readonly driver: Driver;
  private readonly maxBuffered: number;
  private readonly closeTimeout: number;
  /** Set when we chose how this ends (our close, or a failure we detected). */
  private ending: WampTransportCloseInfo | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private pingCount = 0;
  private pingPayload: Uint8Array | null = null;

  /** @internal Built by the driver when the handshake completed. */
  constructor(driver: Driver, serializer: Serializer, info: WampTransportInfo, options: RawSocketTransportOptions) {
    super(serializer, null, options);
    this.driver = driver;
    this.info = info;
    this.maxBuffered = options.maxBufferedAmount ?? DEFAULT_MAX_BUFFERED;
    this.closeTimeout = options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;
    if (options.heartbeat) this.startHeartbeat(options.heartbeat.interval, options.heartbeat.timeout);
  }

  /** Octets queued on the socket, not yet handed to the OS. */
  get bufferedAmount(): number {
    return this.driver.socket.writableLength;
  }

  /** Largest message the peer accepts (from its handshake). */
  get maxSendLength(): number {
    return this.driver.proto.maxSendLength;
  }

  /** Largest message we accept (what our handshake announced). */
  get maxReceiveLength(): number {
    return this.driver.proto.maxReceiveLength;
  }

  /**
   * Sends a RawSocket PING; the peer's PONG echoes `payload`.
   * @throws {@link RawSocketError} RAWSOCKET_ERR_NOT_OPEN after the end, RAWSOCKET_ERR_PEER_LIMIT_EXCEEDED when over the peer's limit.
   */
  ping(payload: Uint8Array = new Uint8Array(0)): void {
    if (this.ending || !this.isOpen) throw new RawSocketError('RAWSOCKET_ERR_NOT_OPEN', 'transport is closing or closed', RawSocketCloseCode.ABNORMAL);
    this.driver.proto.sendPing(payload);
    this.driver.flush();
  }

  /**
   * @throws {@link SerializationError} when the serialized message is larger
   *   than the peer accepts (its cause is a RawSocketError
   *   RAWSOCKET_ERR_PEER_LIMIT_EXCEEDED); nothing is sent.
   */
  protected sendRaw(data: string | Uint8Array): void {
    if (this.ending) return;
    const bytes = toBytes(data);
    const queued = this.driver.socket.writableLength;
    if (queued > 0 && queued + bytes.length > this.maxBuffered) {
      this.fail(
        new RawSocketError(
          'RAWSOCKET_ERR_SEND_QUEUE_FULL',
          `send queue would exceed maxBufferedAmount (${this.maxBuffered} octets)`,
          RawSocketCloseCode.POLICY_VIOLATION,
        ),
      );
      return;
    }
    try {
      this.driver.proto.sendMessage(bytes);
    } catch (err) {
      if (err instanceof RawSocketError && err.code === 'RAWSOCKET_ERR_PEER_LIMIT_EXCEEDED') {
        throw new SerializationError(`${err.message} (RawSocket)`, { cause: err });
      }
      throw err;
    }
    this.driver.flush();
  }

  /** RawSocket has no close frame: finish our side (FIN) and wait for the peer's. */
  protected closeRaw(code: number, reason: string): void {
    if (this.ending) return;
    this.ending = { code, reason, wasClean: true };
    this.stopHeartbeat();
    const s = this.driver.socket;
    s.end();
    setTimeout(() => s.destroy(), this.closeTimeout).unref?.();
  }

  /** @internal */
  onEvent(ev: RawSocketEvent): void {
    switch (ev.type) {
      case 'message':
        this.receiveRaw(ev.data);
        break;
      case 'pong':
        if (this.pingPayload && equalBytes(ev.data, this.pingPayload)) {
          this.pingPayload = null;
          if (this.pongTimer) clearTimeout(this.pongTimer);
          this.pongTimer = null;
        }
        break;
      case 'ping':
        break; // answered by the protocol (autoPong)
      case 'error':
        this.fail(ev.error);
        break;
      case 'open':
        break; // not after the handshake
    }
  }

  /** @internal */
  onSocketDrain(): void {
    this.drained();
  }

  /** @internal */
  onSocketClose(socketError: Error | undefined): void {
    this.stopHeartbeat();
    let info = this.ending;
    if (!info) {
      const clean = this.driver.proto.state === 'closed' && !socketError;
      info = clean
        ? { code: RawSocketCloseCode.NORMAL, reason: '', wasClean: true }
        : {
            code: RawSocketCloseCode.ABNORMAL,
            reason: '',
            wasClean: false,
            error: socketError ?? new RawSocketError('RAWSOCKET_ERR_CONNECTION_LOST', 'connection lost', RawSocketCloseCode.ABNORMAL),
          };
    }
    this.closed(info);
  }

  /** Fail the connection now: report `err`, drop the socket. */
  private fail(err: RawSocketError): void {
    if (this.ending) return;
    this.ending = { code: err.closeCode, reason: '', wasClean: false, error: err };
    this.stopHeartbeat();
    this.driver.flush();
    this.driver.socket.destroy();
  }

  private startHeartbeat(interval: number, timeout: number): void {
    if (!(interval > 0) || !(timeout > 0)) throw new RangeError('heartbeat interval and timeout must be > 0');
    this.heartbeatTimer = setInterval(() => {
      if (this.pingPayload || this.ending || !this.isOpen) return; // one outstanding PING at a time
      // ASCII: Autobahn|JS echoes a PING payload through a UTF-8 string, which
      // would alter bytes that are not valid UTF-8.
      const payload = Buffer.from(`hb${++this.pingCount}`, 'latin1');
      try {
        this.driver.proto.sendPing(payload);
      } catch {
        return;
      }
      this.pingPayload = payload;
      this.driver.flush();
      this.pongTimer = setTimeout(() => {
        this.pongTimer = null;
        this.fail(new RawSocketError('RAWSOCKET_ERR_PING_TIMEOUT', `no PONG within ${timeout} ms`, RawSocketCloseCode.ABNORMAL));
      }, timeout);
      this.pongTimer.unref?.();
    }, interval);
    this.heartbeatTimer.unref?.();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.heartbeatTimer = null;
    this.pongTimer = null;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function serializerIds(names: readonly SerializerId[] | undefined): number[] {
  const list = names ?? (['json', 'msgpack', 'cbor'] as const);
  return list.map((n) => {
    const s = serializers[n];
    if (!s) throw new RangeError(`unknown serializer '${String(n)}'`);
    return s.rawSocketId;
  });
}

/**
 * Connects to a RawSocket router over TCP, TLS or a Unix socket and runs the
 * client handshake.
 *
 * @returns the open transport; rejects with a {@link RawSocketError}
 *   (RAWSOCKET_ERR_CONNECT_FAILED with the socket error as `cause`, a
 *   handshake refusal such as RAWSOCKET_ERR_SERIALIZER_UNSUPPORTED,
 *   RAWSOCKET_ERR_HANDSHAKE_TIMEOUT, RAWSOCKET_ERR_CONNECTION_LOST).
 *
 * @example
 * ```ts
 * const server = new RawSocketServer({ port: 0 }, (t) => {
 *   t.open({ onMessage: () => t.send({ type: 3, details: {}, reason: 'wamp.error.no_such_realm' }), onProtocolError: () => {}, onClose: () => {} });
 * });
 * await server.ready();
 * const port = (server.address() as { port: number }).port;
 * const t = await connectRawSocket({ host: '127.0.0.1', port, serializer: 'msgpack' });
 * const reply = await new Promise((resolve) => {
 *   t.open({ onMessage: resolve, onProtocolError: () => {}, onClose: () => {} });
 *   t.send({ type: 1, realm: 'nowhere', details: {} });
 * });
 * console.log(reply); // { type: 3, details: {}, reason: 'wamp.error.no_such_realm' }
 * t.close();
 * await server.close();
 * ```
 */
export function connectRawSocket(options: ConnectRawSocketOptions): Promise<RawSocketTransport> {
  return new Promise<RawSocketTransport>((resolve, reject) => {
    const name = options.serializer ?? 'json';
    const serializer = serializers[name];
    if (!serializer) {
      reject(new RangeError(`unknown serializer '${String(name)}'`));
      return;
    }
    let proto: RawSocketProtocol;
    try {
      proto = new RawSocketProtocol({ role: 'client', serializer: serializer.rawSocketId, maxMessageSize: options.maxMessageSize ?? 2 ** 24, alloc });
    } catch (err) {
      reject(err);
      return;
    }
    if (options.signal?.aborted) {
      reject(new RawSocketError('RAWSOCKET_ERR_CONNECT_FAILED', 'aborted', RawSocketCloseCode.ABNORMAL, 0, { cause: options.signal.reason }));
      return;
    }
    const tls = options.tls;
    const target = options.path !== undefined ? { path: options.path } : { host: options.host ?? '127.0.0.1', port: options.port };
    let socket: Socket;
    try {
      socket = tls
        ? tlsConnect({ ...(tls === true ? {} : tls), ...target })
        : netConnect(target as { path: string } | { host: string; port: number });
    } catch (err) {
      reject(new RawSocketError('RAWSOCKET_ERR_CONNECT_FAILED', `cannot connect: ${String(err)}`, RawSocketCloseCode.ABNORMAL, 0, { cause: err }));
      return;
    }
    let connected = false;
    const connectMs = options.connectTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    const cleanup = (): void => {
      clearTimeout(connectTimer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('error', onConnectError);
    };
    const failConnect = (err: RawSocketError): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onConnectError = (err: Error): void => {
      if (!connected) failConnect(new RawSocketError('RAWSOCKET_ERR_CONNECT_FAILED', `cannot connect: ${err.message}`, RawSocketCloseCode.ABNORMAL, 0, { cause: err }));
    };
    const onAbort = (): void => {
      failConnect(new RawSocketError('RAWSOCKET_ERR_CONNECT_FAILED', 'aborted', RawSocketCloseCode.ABNORMAL, 0, { cause: options.signal?.reason }));
    };
    const connectTimer = setTimeout(() => {
      failConnect(new RawSocketError('RAWSOCKET_ERR_CONNECT_FAILED', `not connected within ${connectMs} ms`, RawSocketCloseCode.ABNORMAL));
    }, connectMs);
    connectTimer.unref?.();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', onConnectError);
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      connected = true;
      const driver = new Driver(socket, proto, options, false, (t, err) => {
        cleanup();
        if (t) resolve(t);
        else reject(err);
      });
      driver.start();
    });
  });
}

/**
 * Runs the router side of the RawSocket handshake on an accepted socket
 * (TCP, TLS after its handshake, or Unix).
 *
 * @returns the open transport; rejects with a {@link RawSocketError} when
 *   the client is refused (the error reply has then been sent) or leaves.
 */
export function acceptRawSocket(socket: Socket, options: AcceptRawSocketOptions = {}): Promise<RawSocketTransport> {
  return new Promise<RawSocketTransport>((resolve, reject) => {
    let proto: RawSocketProtocol;
    try {
      proto = new RawSocketProtocol({
        role: 'server',
        serializers: serializerIds(options.serializers),
        maxMessageSize: options.maxMessageSize ?? 2 ** 24,
        alloc,
        ...(options.minPeerMaxLength !== undefined ? { minPeerMaxLength: options.minPeerMaxLength } : {}),
        ...(options.refuse !== undefined ? { refuse: options.refuse } : {}),
      });
    } catch (err) {
      socket.destroy();
      reject(err);
      return;
    }
    const driver = new Driver(socket, proto, options, true, (t, err) => {
      if (t) resolve(t);
      else reject(err);
    });
    driver.start(options.firstBytes);
  });
}

/** Options of {@link RawSocketServer}. */
export interface RawSocketServerOptions extends Omit<AcceptRawSocketOptions, 'firstBytes' | 'refuse'> {
  /** TCP port (0 = ephemeral). Give `port` or `path`. */
  port?: number;
  /** Interface to listen on. Default `'127.0.0.1'`. */
  host?: string;
  /** Listen on this Unix socket path instead of TCP. */
  path?: string;
  /** Serve RawSocket over TLS with these node:tls server options (key, cert, …). */
  tls?: TlsOptions;
  /** Most open transports plus pending handshakes; more are refused with handshake error 4. Default unlimited. */
  maxConnections?: number;
}

type TransportListener = (transport: RawSocketTransport) => void;

/**
 * Listens for RawSocket clients (TCP, TLS or a Unix path) and emits
 * `'transport'` with each {@link RawSocketTransport} whose handshake
 * succeeded. Refused or failed handshakes emit `'handshakeError'`.
 *
 * @example
 * ```ts
 * const server = new RawSocketServer({ port: 0, serializers: ['cbor', 'msgpack'] });
 * server.on('transport', (t) => {
 *   t.open({ onMessage: (m) => console.log(m), onProtocolError: () => t.close(), onClose: () => {} });
 * });
 * await server.ready();
 * console.log(typeof (server.address() as { port: number }).port); // number
 * await server.close();
 * ```
 */
export class RawSocketServer extends EventEmitter {
  readonly options: RawSocketServerOptions;
  /** Open transports. */
  readonly transports = new Set<RawSocketTransport>();
  /** Each open transport's socket, to wait for it in close(). */
  private readonly sockets = new Map<RawSocketTransport, Socket>();
  private readonly pending = new Set<Socket>();
  private readonly server: NetServer;
  private readonly listening: Promise<void>;
  private closing = false;

  constructor(options: RawSocketServerOptions = {}, onTransport?: TransportListener) {
    super();
    this.options = options;
    // Validate the serializer names now, not on the first connection.
    serializerIds(options.serializers);
    if (onTransport) this.on('transport', onTransport);
    const server = options.tls ? createTlsServer(options.tls) : createNetServer({ noDelay: true });
    server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => this.accept(socket));
    if (options.tls) server.on('tlsClientError', (_err: Error, socket: Socket) => socket.destroy());
    this.server = server;
    this.listening = new Promise((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        server.on('error', (err) => this.emit('error', err));
        this.emit('listening');
        resolve();
      };
      if (options.path !== undefined) server.listen(options.path, done);
      else server.listen(options.port ?? 0, options.host ?? '127.0.0.1', done);
    });
    // ready() reports a listen failure; do not also make it an unhandled rejection.
    this.listening.catch(noop);
  }

  /** Resolves once listening; rejects if listening failed (e.g. EADDRINUSE). */
  ready(): Promise<void> {
    return this.listening;
  }

  /** The listening address: AddressInfo for TCP, the path for a Unix socket. */
  address(): AddressInfo | string | null {
    return this.server.address();
  }

  override on(event: 'transport', listener: TransportListener): this;
  override on(event: 'handshakeError', listener: (err: RawSocketError, socket: Socket) => void): this;
  override on(event: 'listening' | 'close', listener: () => void): this;
  override on(event: 'error', listener: (err: Error) => void): this;
  override on(event: string, listener: (...args: never[]) => void): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  private accept(socket: Socket): void {
    socket.on('error', noop);
    if (this.closing) {
      socket.destroy();
      return;
    }
    const max = this.options.maxConnections;
    const full = max !== undefined && this.transports.size + this.pending.size >= max;
    this.pending.add(socket);
    const { path: _p, port: _port, host: _h, tls: _t, maxConnections: _m, ...acceptOptions } = this.options;
    acceptRawSocket(socket, { ...acceptOptions, ...(full ? { refuse: RawSocketHandshakeError.MAX_CONNECTIONS } : {}) }).then(
      (t) => {
        this.pending.delete(socket);
        if (this.closing) {
          t.close(1001, 'server shutting down');
          return;
        }
        this.transports.add(t);
        this.sockets.set(t, socket);
        socket.once('close', () => {
          this.transports.delete(t);
          this.sockets.delete(t);
        });
        this.emit('transport', t);
      },
      (err: RawSocketError) => {
        this.pending.delete(socket);
        if (this.listenerCount('handshakeError') > 0) this.emit('handshakeError', err, socket);
      },
    );
  }

  /**
   * Stops listening, drops pending handshakes, closes every transport
   * (1001, "server shutting down") and waits for them (bounded by closeTimeout).
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const s of this.pending) s.destroy();
    this.pending.clear();
    const closing = [...this.transports].map(
      (t) =>
        new Promise<void>((resolve) => {
          const sock = this.sockets.get(t);
          if (!t.isOpen || !sock || sock.destroyed) {
            resolve();
            return;
          }
          sock.once('close', () => resolve());
          t.close(1001, 'server shutting down');
        }),
    );
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all(closing);
    this.emit('close');
  }
}
