/**
 * A WebSocket connection over a byte transport: the familiar event API
 * (onopen/onmessage/onerror/onclose, send, close, ping, bufferedAmount,
 * protocol, extensions), a stream API in the spirit of WebSocketStream,
 * Autobahn-style streaming of one large message as fragments, and a
 * frame-level API. Runtime-neutral: adapters supply a {@link Transport}.
 */
import { CloseCode, WebSocketError } from './core/ws/errors.js';
import {
  CLOSED,
  CLOSING,
  CONNECTING,
  OPEN,
  WebSocketProtocol,
  type CloseInfo,
  type PerMessageCodec,
  type ProtocolHandler,
  type ReadyState,
} from './core/ws/protocol.js';
import type { Limits } from './core/ws/constants.js';
import { applyMask } from './core/ws/mask.js';
import type { ReceiveEvent } from './core/ws/types.js';
import { Deadlines, tickFor } from './core/deadlines.js';

/** The stream API of a connection ({@link WebSocketConnection.stream}). */
export interface WebSocketStreamPair {
  /** Whole messages received (strings for text). Ends when the connection closes, after every message already received. */
  readonly readable: ReadableStream<StreamMessage>;
  /** Messages to send; a write waits while the send queue is above its high-water mark. Closing it closes the connection (1000). */
  readonly writable: WritableStream<SendData>;
  /** How the connection ended: the close code and reason, and whether the closing handshake completed. Never rejects. */
  readonly closed: Promise<CloseInfo>;
}

/** What an adapter provides: a byte pipe and a clock. */
export interface Transport {
  /** Queue bytes for sending. */
  write(chunk: Uint8Array): void;
  /** Flush, then half-close (TCP FIN); the peer's bytes are still read until it closes. */
  end(): void;
  /**
   * Flush, then close both directions (a server after the closing
   * handshake). Returns true if the transport is closed already. Optional:
   * without it, `end()` is used and the peer closes the other direction.
   */
  close?(): boolean;
  /** Close at once. */
  destroy(): void;
  /** Stop / resume delivering received bytes. */
  pause(): void;
  resume(): void;
  /** Bytes written but not yet handed to the OS. */
  readonly bufferedAmount: number;
}

/** Runtime services an adapter may supply (faster native versions). */
export interface RuntimeHooks {
  /** Allocate output buffers (Node: pooled Buffers, which sockets take without conversion). */
  alloc?: (size: number) => Uint8Array;
  /** Unmask received payloads in place (applyMask's contract); e.g. a native one for large payloads. */
  unmask?: (data: Uint8Array, key: Uint8Array, phase: number) => void;
  encodeText?: (s: string) => Uint8Array;
  decodeText?: (b: Uint8Array) => string;
  isUtf8?: (b: Uint8Array) => boolean;
  maskKey?: (out: Uint8Array) => void;
}

export interface HeartbeatOptions {
  /** Send a ping after this many ms without traffic from the peer. */
  interval: number;
  /** Fail the connection (1006 locally, WS_ERR_PING_TIMEOUT) if no pong within this many ms. */
  timeout: number;
}

/** Options shared by clients and server connections. */
export interface ConnectionOptions extends Partial<Limits> {
  /** Automatic ping/pong heartbeat; off by default. */
  heartbeat?: HeartbeatOptions;
  /** How long to wait for the peer's Close frame / TCP close, in ms. Default 5000. */
  closeTimeout?: number;
  /**
   * Most bytes that may wait to be sent. `send()` beyond it throws
   * WS_ERR_SEND_QUEUE_FULL (the message is not sent; wait for a `drain`
   * event, or use the stream API which waits for you). Default 64 MiB.
   */
  maxBufferedAmount?: number;
  /**
   * Deliver each received message as a `messagestart` event carrying a
   * ReadableStream of its fragments (Autobahn's streaming API) instead of
   * whole `message` events.
   */
  streamMessages?: boolean;
  /** How binary data is delivered: Uint8Array (default) or ArrayBuffer. */
  binaryType?: 'uint8array' | 'arraybuffer';
}

/** A received message. `data` is decoded lazily: echoing `raw` costs no decode. */
export class WsMessageEvent {
  readonly type = 'message';
  readonly target: WebSocketConnection;
  /** The bytes as received (UTF-8 for text, already validated). */
  readonly raw: Uint8Array;
  /** True for a binary message, false for text. */
  readonly binary: boolean;
  private decoded: string | ArrayBuffer | Uint8Array | undefined;

  constructor(target: WebSocketConnection, raw: Uint8Array, binary: boolean) {
    this.target = target;
    this.raw = raw;
    this.binary = binary;
  }

  /** A string for text messages; binary as per `binaryType`. */
  get data(): string | Uint8Array | ArrayBuffer {
    if (this.decoded === undefined) this.decoded = this.target.decodeMessage(this.raw, this.binary);
    return this.decoded;
  }
}

/** The start of a streamed message (option `streamMessages`). */
export interface WsMessageStartEvent {
  type: 'messagestart';
  target: WebSocketConnection;
  binary: boolean;
  /** The message's data as it arrives; backpressure pauses the connection. */
  stream: ReadableStream<Uint8Array>;
}

export interface WsCloseEvent {
  type: 'close';
  target: WebSocketConnection;
  code: number;
  reason: string;
  wasClean: boolean;
}

export interface WsErrorEvent {
  type: 'error';
  target: WebSocketConnection;
  error: WebSocketError;
  message: string;
}

export interface WsControlEvent {
  type: 'ping' | 'pong';
  target: WebSocketConnection;
  data: Uint8Array;
}

export interface WsSimpleEvent {
  type: 'open' | 'drain';
  target: WebSocketConnection;
}

export interface WsEventMap {
  open: WsSimpleEvent;
  message: WsMessageEvent;
  messagestart: WsMessageStartEvent;
  error: WsErrorEvent;
  close: WsCloseEvent;
  ping: WsControlEvent;
  pong: WsControlEvent;
  drain: WsSimpleEvent;
}

type Listener<K extends keyof WsEventMap> = (this: WebSocketConnection, event: WsEventMap[K]) => void;

/** Data accepted by `send`. Strings go as text, bytes as binary. */
export type SendData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

export interface SendOptions {
  /** Force binary (true) or text (false); default: text for strings, binary for bytes. */
  binary?: boolean;
  /** Allow compression (permessage-deflate decides by size). Default true. */
  compress?: boolean;
}

/** What the stream API's readable yields. */
export type StreamMessage = string | Uint8Array;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function defaultMaskKey(out: Uint8Array): void {
  crypto.getRandomValues(out);
}

/**
 * A WebSocket connection. Servers hand these out already open; clients
 * (`WebSocket` in the Node entry) create one while connecting.
 *
 * @example
 * ```ts
 * ws.onmessage = (e) => ws.send(e.raw, { binary: e.binary }); // echo without decoding
 * ws.onclose = (e) => console.log('closed', e.code, e.reason, e.wasClean);
 * ```
 */
export class WebSocketConnection {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;

  /** The URL (clients) or request path (server side). */
  url: string;
  /** The subprotocol agreed in the handshake ('' for none). */
  protocol = '';
  /** The extensions agreed in the handshake, as a header value ('' for none). */
  extensions = '';
  binaryType: 'uint8array' | 'arraybuffer';

  onopen: Listener<'open'> | null = null;
  onmessage: Listener<'message'> | null = null;
  onerror: Listener<'error'> | null = null;
  onclose: Listener<'close'> | null = null;

  /**
   * Listeners as one flat array of (type, listener) pairs: a WAMP transport
   * adds three per connection, and a Map of arrays cost ~0.4 KB per idle
   * session (bench:router). Replaced, never changed in place, on removal, so
   * an _emit iterating the old one is not disturbed (EventTarget semantics).
   */
  private listeners: Array<string | ((ev: never) => void)> | null = null;
  private proto: WebSocketProtocol | null = null;
  private transport: Transport | null = null;
  private state: ReadyState = CONNECTING;
  private readonly options: ConnectionOptions;
  private readonly hooks: Required<RuntimeHooks>;
  private readonly maxBuffered: number;
  /** The close timeout is armed (in {@link closeDeadlines}). */
  private closeArmed = false;
  private heartbeatTimer: ReturnType<typeof setTimeout> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private lastSeen = 0;
  private closedEmitted = false;
  private pauseReasons = 0;
  private needDrain = false;
  // streaming receive
  private streamCtl: ReadableStreamDefaultController<Uint8Array> | null = null;
  private streamPaused = false;
  // stream API
  private streamApi: WebSocketStreamPair | null = null;
  private resolveStreamClosed: ((info: CloseInfo) => void) | null = null;
  private readableCtl: ReadableStreamDefaultController<StreamMessage> | null = null;
  private readablePaused = false;
  private drainWaiters: Array<() => void> | null = null;

  constructor(url: string, options: ConnectionOptions = {}, hooks: RuntimeHooks = {}) {
    this.url = url;
    this.options = options;
    this.binaryType = options.binaryType ?? 'uint8array';
    this.maxBuffered = options.maxBufferedAmount ?? 64 * 1024 * 1024;
    this.hooks = completeHooks(hooks);
  }

  get readyState(): ReadyState {
    return this.state;
  }

  /** Bytes queued for sending (transport buffer plus async deflate queue). */
  get bufferedAmount(): number {
    return (this.transport ? this.transport.bufferedAmount : 0) + (this.proto ? this.proto.sendQueuedBytes : 0);
  }

  // ---- events -------------------------------------------------------------

  addEventListener<K extends keyof WsEventMap>(type: K, listener: Listener<K>): void {
    const list = (this.listeners ??= []);
    // EventTarget: adding the same listener twice is a no-op.
    for (let i = 0; i < list.length; i += 2) if (list[i] === type && list[i + 1] === listener) return;
    // Appended in place: an _emit in progress stops at the length it started with.
    list.push(type, listener as (ev: never) => void);
  }

  removeEventListener<K extends keyof WsEventMap>(type: K, listener: Listener<K>): void {
    const list = this.listeners;
    if (!list) return;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === type && list[i + 1] === listener) {
        this.listeners = list.slice(0, i).concat(list.slice(i + 2));
        return;
      }
    }
  }

  /**
   * The on<type> property for an event type. Direct property reads:
   * `this['on' + type]` would build a string and do a megamorphic keyed load
   * on every message.
   */
  private handlerFor(type: keyof WsEventMap): ((e: never) => void) | null {
    return type === 'message' ? this.onmessage : type === 'close' ? this.onclose : type === 'open' ? this.onopen : type === 'error' ? this.onerror : null;
  }

  /** @internal Is anybody listening? (Skips building event objects nobody reads.) */
  _wants(type: keyof WsEventMap): boolean {
    if (this.handlerFor(type) !== null) return true;
    const list = this.listeners;
    if (list) for (let i = 0; i < list.length; i += 2) if (list[i] === type) return true;
    return false;
  }

  /** @internal */
  _emit<K extends keyof WsEventMap>(type: K, event: WsEventMap[K]): void {
    const prop = this.handlerFor(type);
    if (typeof prop === 'function') this.safely(prop as (e: WsEventMap[K]) => void, event);
    const list = this.listeners;
    if (list) {
      for (let i = 0, n = list.length; i < n; i += 2) {
        if (list[i] === type) this.safely(list[i + 1] as (e: WsEventMap[K]) => void, event);
      }
    }
  }

  /** A throwing listener must not break the connection; report it asynchronously (like EventTarget). */
  private safely<E>(fn: (e: E) => void, event: E): void {
    try {
      fn.call(this, event);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  // ---- lifecycle (called by adapters) ------------------------------------

  /** @internal Attach an open transport after a successful handshake. */
  attach(transport: Transport, info: { role: 'client' | 'server'; protocol: string; extensions: string; deflate: PerMessageCodec | null }): WebSocketProtocol {
    this.transport = transport;
    this.protocol = info.protocol;
    this.extensions = info.extensions;
    const proto = new WebSocketProtocol(
      {
        maxFrameSize: this.options.maxFrameSize,
        maxMessageSize: this.options.maxMessageSize,
        maxFragments: this.options.maxFragments,
        role: info.role,
        deflate: info.deflate,
        streaming: this.options.streamMessages ?? false,
        isUtf8: this.hooks.isUtf8,
        maskKey: this.hooks.maskKey,
        alloc: this.hooks.alloc,
        unmask: this.hooks.unmask,
      },
      new ConnectionHandler(this, transport),
    );
    this.proto = proto;
    this.state = OPEN;
    this.lastSeen = Date.now();
    this.armHeartbeat();
    if (this._wants('open')) this._emit('open', { type: 'open', target: this });
    return proto;
  }

  /** @internal Bytes from the transport. */
  receive(chunk: Uint8Array): void {
    const proto = this.proto;
    if (!proto) return;
    this.lastSeen = Date.now();
    proto.receive(chunk);
    if (proto.receivePending) this.pauseFor(PAUSE_INFLATE);
    // What we answer on our own (pongs, a server's echo) must not pile up
    // for a peer that sends but does not read: stop reading until drained.
    if (this.bufferedAmount > this.maxBuffered) this.pauseFor(PAUSE_SEND_QUEUE);
    this.syncState();
  }

  /**
   * @internal Deliver bytes on a later event-loop turn, holding the transport
   * until then (early frames after a client handshake).
   */
  _receiveLater(chunk: Uint8Array): void {
    this.pauseFor(PAUSE_OPENING);
    const run = (): void => {
      this.receive(chunk);
      this._resumeFor(PAUSE_OPENING);
    };
    if (typeof setImmediate === 'function') setImmediate(run);
    else setTimeout(run, 0);
  }

  /** @internal The transport's write buffer emptied. */
  transportDrained(): void {
    this.maybeDrain();
  }

  /** @internal The transport is closed (EOF, error or destroy). */
  transportClosed(error?: unknown): void {
    if (this.closedEmitted) return;
    this.closedEmitted = true;
    this.clearTimers();
    const info: CloseInfo = this.proto
      ? this.proto.transportClosed()
      : { code: CloseCode.ABNORMAL, reason: '', wasClean: false };
    this.state = CLOSED;
    if (this._owner) this._owner.connectionClosed(this);
    if (error && !(this.proto && this.proto.error)) {
      const err = error instanceof WebSocketError ? error : new WebSocketError('WS_ERR_CONNECTION_LOST', error instanceof Error ? error.message : String(error), CloseCode.ABNORMAL);
      this._emit('error', { type: 'error', target: this, error: err, message: err.message });
    }
    if (this.streamCtl) {
      try { this.streamCtl.error(new WebSocketError('WS_ERR_CONNECTION_LOST', 'connection closed inside a message', info.code)); } catch { /* already closed */ }
      this.streamCtl = null;
    }
    if (this.readableCtl) {
      // Closed, not errored, even when unclean: messages already queued stay readable; `closed` tells how it ended.
      try { this.readableCtl.close(); } catch { /* already closed */ }
      this.readableCtl = null;
    }
    if (this.resolveStreamClosed) {
      this.resolveStreamClosed(info);
      this.resolveStreamClosed = null;
    }
    this.wakeDrainWaiters();
    if (this._wants('close')) this._emit('close', { type: 'close', target: this, code: info.code, reason: info.reason, wasClean: info.wasClean });
  }

  /** @internal Fail before open (handshake error, timeout). */
  failConnecting(error: WebSocketError): void {
    this._emit('error', { type: 'error', target: this, error, message: error.message });
    this.transportClosed();
  }

  // ---- sending -----------------------------------------------------------

  /**
   * Send a message: strings as text, bytes as binary (unless `options.binary`
   * says otherwise). Returns false, sending nothing, once the connection is
   * closing or closed (as browsers discard such data). Throws WS_ERR_NOT_OPEN
   * while still connecting and WS_ERR_SEND_QUEUE_FULL when
   * `maxBufferedAmount` would be exceeded.
   */
  send(data: SendData, options?: SendOptions): boolean {
    const proto = this.sendable();
    if (!proto) return false;
    let bytes: Uint8Array;
    let binary: boolean;
    if (typeof data === 'string') {
      bytes = this.hooks.encodeText(data);
      binary = options?.binary ?? false;
    } else {
      bytes = toBytes(data);
      binary = options?.binary ?? true;
    }
    this.checkQueue(bytes.length);
    proto.send(bytes, binary, options?.compress ?? true);
    return true;
  }

  /** Send a Ping (≤125 bytes); the Pong arrives as a `pong` event. False once closing. */
  ping(data: SendData = EMPTY): boolean {
    const proto = this.sendable();
    if (!proto) return false;
    const bytes = typeof data === 'string' ? this.hooks.encodeText(data) : toBytes(data);
    this.checkQueue(bytes.length);
    proto.ping(bytes);
    return true;
  }

  /** Send an unsolicited Pong (a unidirectional heartbeat, §5.5.3). */
  pong(data: SendData = EMPTY): boolean {
    const proto = this.sendable();
    if (!proto) return false;
    const bytes = typeof data === 'string' ? this.hooks.encodeText(data) : toBytes(data);
    this.checkQueue(bytes.length);
    proto.pong(bytes);
    return true;
  }

  /**
   * Start the closing handshake. `code` 1000 or 3000–4999 (others are
   * reserved to the library), `reason` ≤123 UTF-8 bytes.
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined && !(code === 1000 || (code >= 3000 && code <= 4999))) {
      throw new RangeError(`close code must be 1000 or in 3000-4999, got ${code}`);
    }
    if (this.state === CONNECTING && !this.proto) {
      this.state = CLOSING;
      this.abortConnecting?.();
      return;
    }
    if (!this.proto || this.state === CLOSED) return;
    this.proto.close(code, reason ?? '');
    this.syncState();
    this.armCloseTimer();
  }

  /** @internal Close with any valid code, e.g. 1001 when a server shuts down. */
  closeWithCode(code: number, reason = ''): void {
    if (!this.proto || this.state === CLOSED) return;
    this.proto.close(code, reason);
    this.syncState();
    this.armCloseTimer();
  }

  /** Close the transport at once, without a closing handshake. */
  terminate(): void {
    if (this.state === CONNECTING && !this.proto) {
      this.abortConnecting?.();
      return;
    }
    this.transport?.destroy();
  }

  /** @internal Told once when the connection has closed (before the close event): a server, say. */
  _owner: { connectionClosed(ws: WebSocketConnection): void } | null = null;
  /** @internal The permessage-deflate codec to release on close. */
  _codec: { close(): void } | null = null;

  /** @internal Set by a connecting client so close()/terminate() can abort it. */
  abortConnecting: (() => void) | null = null;

  /** Streaming send: begin a message whose data follows in fragments. */
  beginMessage(binary = true, options?: { compress?: boolean }): void {
    this.openProto().beginMessage(binary, options?.compress ?? true);
  }

  /** Streaming send: one fragment of the open message, sent as one frame now. */
  sendFragment(data: SendData): void {
    const bytes = typeof data === 'string' ? this.hooks.encodeText(data) : toBytes(data);
    this.checkQueue(bytes.length);
    this.openProto().sendFragment(bytes);
  }

  /** Streaming send: end the open message (with optional last data). */
  endMessage(data?: SendData): void {
    const bytes = data === undefined ? undefined : typeof data === 'string' ? this.hooks.encodeText(data) : toBytes(data);
    this.checkQueue(bytes === undefined ? 0 : bytes.length);
    this.openProto().endMessage(bytes);
  }

  /**
   * Frame-level API: send one raw frame exactly as given (opcode, FIN, RSV1).
   * You own protocol correctness; use for testing peers and custom control
   * frames. Close frames go through close().
   */
  sendFrame(opcode: number, payload: SendData, options?: { fin?: boolean; rsv1?: boolean }): void {
    const bytes = typeof payload === 'string' ? this.hooks.encodeText(payload) : toBytes(payload);
    this.checkQueue(bytes.length);
    this.openProto().sendFrame(opcode, bytes, options?.fin ?? true, options?.rsv1 ?? false);
  }

  // ---- stream API (WebSocketStream-like) ----------------------------------

  /**
   * `{ readable, writable }` of whole messages with backpressure: reading
   * slowly pauses the transport; writes wait while `bufferedAmount` is above
   * the high-water mark. Created on first access; use it instead of
   * onmessage (messages go to the readable once it exists).
   *
   * @example
   * ```ts
   * const { readable, writable } = ws.stream;
   * const writer = writable.getWriter();
   * await writer.write('hello');
   * for await (const msg of readable) console.log(msg);
   * const { code, wasClean } = await ws.stream.closed; // how it ended
   * ```
   */
  get stream(): WebSocketStreamPair {
    if (this.streamApi) return this.streamApi;
    const closedInfo = new Promise<CloseInfo>((resolve) => {
      if (this.state === CLOSED && this.closedEmitted) resolve(this.proto ? this.proto.closeInfo : { code: CloseCode.ABNORMAL, reason: '', wasClean: false });
      else this.resolveStreamClosed = resolve;
    });
    const highWater = 1024 * 1024;
    const readable = new ReadableStream<StreamMessage>(
      {
        start: (ctl) => {
          this.readableCtl = ctl;
          if (this.state === CLOSED) ctl.close();
        },
        pull: () => {
          if (this.readablePaused) {
            this.readablePaused = false;
            this._resumeFor(PAUSE_READABLE);
          }
        },
        cancel: () => {
          this.readableCtl = null;
          if (this.state === OPEN) this.close(1000);
        },
      },
      { highWaterMark: 16 },
    );
    const writable = new WritableStream<SendData>(
      {
        write: async (chunk) => {
          let sent: boolean;
          try {
            sent = this.send(chunk);
          } catch (err) {
            // Over maxBufferedAmount: the stream API waits where send() throws.
            if (!(err instanceof WebSocketError && err.code === 'WS_ERR_SEND_QUEUE_FULL') || this.bufferedAmount === 0) throw err;
            await this.waitDrain();
            sent = this.send(chunk);
          }
          if (!sent) throw new WebSocketError('WS_ERR_NOT_OPEN', 'the connection is closing');
          if (this.bufferedAmount > Math.min(highWater, this.maxBuffered)) await this.waitDrain();
        },
        close: () => {
          if (this.state === OPEN) this.close(1000);
        },
        abort: () => this.terminate(),
      },
      { highWaterMark: 1 },
    );
    this.streamApi = { readable, writable, closed: closedInfo };
    return this.streamApi;
  }

  /** Resolves when bufferedAmount falls to zero (or the connection closes). */
  waitDrain(): Promise<void> {
    if (this.bufferedAmount === 0 || this.state === CLOSED) return Promise.resolve();
    this.needDrain = true;
    return new Promise((resolve) => (this.drainWaiters ??= []).push(resolve));
  }

  private wakeDrainWaiters(): void {
    const w = this.drainWaiters;
    if (w === null) return;
    this.drainWaiters = null;
    for (const fn of w) fn();
  }

  /** @internal Decode a received message for WsMessageEvent.data. */
  decodeMessage(raw: Uint8Array, binary: boolean): string | Uint8Array | ArrayBuffer {
    if (!binary) return this.hooks.decodeText(raw);
    if (this.binaryType === 'arraybuffer') {
      // ArrayBuffer#slice copies; a Node Buffer's slice() would be a view of its whole pool.
      return raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength && raw.buffer instanceof ArrayBuffer
        ? raw.buffer
        : Uint8Array.prototype.slice.call(raw).buffer;
    }
    return raw;
  }

  // ---- internals ------------------------------------------------------------

  /** The protocol if sending is possible; null when closing/closed; throws while connecting. */
  private sendable(): WebSocketProtocol | null {
    if (this.state === CONNECTING || !this.proto) {
      throw new WebSocketError('WS_ERR_NOT_OPEN', 'WebSocket is still connecting');
    }
    return this.state === OPEN ? this.proto : null;
  }

  private openProto(): WebSocketProtocol {
    if (!this.proto || this.state !== OPEN) {
      throw new WebSocketError('WS_ERR_NOT_OPEN', `WebSocket is not open (readyState ${this.state})`);
    }
    return this.proto;
  }

  private checkQueue(add: number): void {
    if (this.bufferedAmount + add > this.maxBuffered) {
      this.needDrain = true;
      throw new WebSocketError('WS_ERR_SEND_QUEUE_FULL', `send queue would exceed maxBufferedAmount (${this.maxBuffered} bytes)`);
    }
  }

  private maybeDrain(): void {
    if (this.bufferedAmount !== 0) return;
    this._resumeFor(PAUSE_SEND_QUEUE);
    this.wakeDrainWaiters();
    if (this.needDrain) {
      this.needDrain = false;
      if (this._wants('drain')) this._emit('drain', { type: 'drain', target: this });
    }
  }

  /** @internal A Close frame arrived. */
  _onCloseFrame(): void {
    if (this.state === OPEN) this.state = CLOSING;
  }

  /** @internal Async inflate/deflate queues drained. */
  _onQueueDrained(): void {
    this._resumeFor(PAUSE_INFLATE);
    // The async deflate queue counts in bufferedAmount: its draining can be the drain.
    this.maybeDrain();
  }

  /** @internal */
  _onMessage(data: Uint8Array, binary: boolean): void {
    if (this.readableCtl) {
      const ctl = this.readableCtl;
      ctl.enqueue(binary ? (this.decodeMessage(data, true) as Uint8Array) : this.hooks.decodeText(data));
      if ((ctl.desiredSize ?? 1) <= 0 && !this.readablePaused) {
        this.readablePaused = true;
        this.pauseFor(PAUSE_READABLE);
      }
      return;
    }
    this._emit('message', new WsMessageEvent(this, data, binary));
  }

  /** @internal */
  _onStreamEvent(ev: ReceiveEvent): void {
    if (ev.type === 'message-start') {
      const stream = new ReadableStream<Uint8Array>(
        {
          start: (ctl) => {
            this.streamCtl = ctl;
          },
          pull: () => {
            if (this.streamPaused) {
              this.streamPaused = false;
              this._resumeFor(PAUSE_STREAM);
            }
          },
        },
        { highWaterMark: 1024 * 1024, size: (c) => c.byteLength },
      );
      this._emit('messagestart', { type: 'messagestart', target: this, binary: ev.binary, stream });
    } else if (ev.type === 'message-data') {
      const ctl = this.streamCtl;
      if (!ctl) return;
      // The piece may be a view into a transport buffer that the caller reuses: copy.
      ctl.enqueue(Uint8Array.prototype.slice.call(ev.data)); // a copy, also for a Buffer (whose slice() is a view)
      if ((ctl.desiredSize ?? 1) <= 0 && !this.streamPaused) {
        this.streamPaused = true;
        this.pauseFor(PAUSE_STREAM);
      }
    } else if (ev.type === 'message-end') {
      this.streamCtl?.close();
      this.streamCtl = null;
    }
  }

  private pauseFor(reason: number): void {
    const before = this.pauseReasons;
    this.pauseReasons |= reason;
    if (before === 0) this.transport?.pause();
  }

  /** @internal */
  _resumeFor(reason: number): void {
    if ((this.pauseReasons & reason) === 0) return;
    this.pauseReasons &= ~reason;
    if (this.pauseReasons === 0) this.transport?.resume();
  }

  private syncState(): void {
    const s = this.proto ? this.proto.readyState : this.state;
    if (s > this.state) this.state = s;
  }

  /** @internal */
  _closeTransport(how: 'close' | 'end' | 'wait'): void {
    this.syncState();
    const t = this.transport;
    if (!t) return;
    if (how === 'close' && t.close) {
      // Written and closed at once (the usual case): nothing left to time out.
      if (t.close()) return;
    } else if (how !== 'wait') t.end();
    this.armCloseTimer();
  }

  private armCloseTimer(): void {
    if (this.closeArmed || !this.transport) return;
    this.closeArmed = true;
    const ms = this.options.closeTimeout ?? 5000;
    closeDeadlines(ms).set(this, Date.now() + ms);
  }

  /** @internal The closing handshake did not finish within closeTimeout. */
  _closeTimedOut(): void {
    this.closeArmed = false;
    this.transport?.destroy();
  }

  private armHeartbeat(): void {
    const hb = this.options.heartbeat;
    if (!hb) return;
    const tick = (): void => {
      this.heartbeatTimer = null;
      if (this.state !== OPEN) return;
      const idle = Date.now() - this.lastSeen;
      if (idle < hb.interval) {
        this.heartbeatTimer = setTimeout(tick, hb.interval - idle);
        unrefTimer(this.heartbeatTimer);
        return;
      }
      try {
        this.proto?.ping(EMPTY);
      } catch {
        return;
      }
      this.pongTimer = setTimeout(() => {
        this.pongTimer = null;
        const err = new WebSocketError('WS_ERR_PING_TIMEOUT', `no pong within ${hb.timeout} ms`, CloseCode.ABNORMAL);
        this._emit('error', { type: 'error', target: this, error: err, message: err.message });
        this.transport?.destroy();
      }, hb.timeout);
      unrefTimer(this.pongTimer);
    };
    this.heartbeatTimer = setTimeout(tick, hb.interval);
    unrefTimer(this.heartbeatTimer);
  }

  /** @internal */
  _onPong(data: Uint8Array): void {
    if (this.pongTimer) {
      clearTimeout(this.pongTimer);
      this.pongTimer = null;
      if (!this.heartbeatTimer) this.armHeartbeat();
    }
    if (this._wants('pong')) this._emit('pong', { type: 'pong', target: this, data });
  }

  private clearTimers(): void {
    if (this.closeArmed) {
      this.closeArmed = false;
      closeDeadlines(this.options.closeTimeout ?? 5000).delete(this);
    }
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.heartbeatTimer = this.pongTimer = null;
  }
}

/** The protocol's handler: one object with prototype methods (no closures per connection). */
class ConnectionHandler implements ProtocolHandler {
  constructor(
    private readonly conn: WebSocketConnection,
    private readonly transport: Transport,
  ) {}
  write(chunk: Uint8Array): void {
    this.transport.write(chunk);
  }
  closeTransport(how: 'close' | 'end' | 'wait'): void {
    this.conn._closeTransport(how);
  }
  onMessage(data: Uint8Array, binary: boolean): void {
    this.conn._onMessage(data, binary);
  }
  onStreamEvent(ev: ReceiveEvent): void {
    this.conn._onStreamEvent(ev);
  }
  onPing(data: Uint8Array): void {
    if (this.conn._wants('ping')) this.conn._emit('ping', { type: 'ping', target: this.conn, data });
  }
  onPong(data: Uint8Array): void {
    this.conn._onPong(data);
  }
  onCloseFrame(): void {
    this.conn._onCloseFrame();
  }
  onError(error: WebSocketError): void {
    this.conn._emit('error', { type: 'error', target: this.conn, error, message: error.message });
  }
  onDrain(): void {
    this.conn._onQueueDrained();
  }
}

/** Shared defaults; hooks given in full (Node's) are used as they are. */
const defaultHooks: Required<RuntimeHooks> = {
  alloc: (n) => new Uint8Array(n),
  encodeText: (s) => textEncoder.encode(s),
  decodeText: (b) => textDecoder.decode(b),
  isUtf8: (b) => {
    try {
      fatalDecoder.decode(b);
      return true;
    } catch {
      return false;
    }
  },
  maskKey: defaultMaskKey,
  unmask: applyMask,
};

const fatalDecoder = new TextDecoder('utf-8', { fatal: true });

function completeHooks(h: RuntimeHooks): Required<RuntimeHooks> {
  if (h.alloc && h.encodeText && h.decodeText && h.isUtf8 && h.maskKey && h.unmask) return h as Required<RuntimeHooks>;
  return {
    unmask: h.unmask ?? defaultHooks.unmask,
    alloc: h.alloc ?? defaultHooks.alloc,
    encodeText: h.encodeText ?? defaultHooks.encodeText,
    decodeText: h.decodeText ?? defaultHooks.decodeText,
    isUtf8: h.isUtf8 ?? defaultHooks.isUtf8,
    maskKey: h.maskKey ?? defaultHooks.maskKey,
  };
}

const PAUSE_INFLATE = 1;
const PAUSE_STREAM = 2;
const PAUSE_READABLE = 4;
const PAUSE_OPENING = 8;
const PAUSE_SEND_QUEUE = 16;

const EMPTY = new Uint8Array(0);

function toBytes(data: Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}


/**
 * Close timeouts of every connection, one shared timer per closeTimeout value
 * (a runtime timer per closing connection cost ~1 µs of each handshake,
 * bench:ws); they fire within a quarter of the timeout after it.
 */
const closeTimeouts = new Map<number, Deadlines<WebSocketConnection>>();
function closeDeadlines(ms: number): Deadlines<WebSocketConnection> {
  let d = closeTimeouts.get(ms);
  if (!d) {
    d = new Deadlines<WebSocketConnection>(tickFor(ms), (conn) => conn._closeTimedOut());
    closeTimeouts.set(ms, d);
  }
  return d;
}

function unrefTimer(t: unknown): void {
  const u = (t as { unref?: () => void }).unref;
  if (typeof u === 'function') u.call(t);
}
