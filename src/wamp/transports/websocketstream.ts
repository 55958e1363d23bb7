/**
 * WAMP over `WebSocketStream` (the WHATWG WebSocket API with streams,
 * https://websockets.spec.whatwg.org/#the-websocketstream-interface): the
 * browser's WebSocket with real backpressure in both directions.
 *
 * - Receiving: each message is read from `opened.readable` one at a time, and
 *   only after the transport was opened (handed to a session). While nobody
 *   reads, the browser stops reading from the network, so a peer that sends
 *   faster than we decode fills its own buffers, not ours. WAMP itself has no
 *   flow control: once the session is running the loop reads continuously and
 *   each message is decoded and dispatched synchronously before the next read.
 * - Sending: every message goes through `opened.writable`'s writer; a write's
 *   bytes count in {@link WampTransport.bufferedAmount} until the browser took
 *   them, so `sendProgress` and other writers that wait for the buffer to
 *   drain really wait. A hard limit (`maxBufferedBytes`) ends the transport
 *   rather than buffer without bound.
 * - Closing: `close({ closeCode, reason })`; the close code and reason the
 *   peer sent reach {@link WampTransportHandler.onClose}.
 *
 * Where `WebSocketStream` is missing (Firefox and Safari at the time of
 * writing, Node), use `connectWebSocket` (the event-based `WebSocket`).
 *
 * @module
 */
import { WampSessionError } from '../application-error.js';
import { JsonSerializer } from '../serializers/json.js';
import type { Serializer } from '../serializers/types.js';
import { MessageTransport, type MessageTransportOptions, type WampTransport, type WampTransportHandler, type WampTransportInfo } from '../transport.js';

/** What `WebSocketStream.opened` resolves with. */
export interface WebSocketStreamConnection {
  /** Messages from the peer: text as strings, binary as `ArrayBuffer` (or `Uint8Array` in newer engines). */
  readable: ReadableStream<string | ArrayBuffer | ArrayBufferView>;
  /** Messages to the peer: strings are sent as text, bytes as binary. */
  writable: WritableStream<string | ArrayBuffer | ArrayBufferView>;
  /** The subprotocol the server chose. */
  protocol: string;
  /** The extensions the server accepted. */
  extensions?: string;
}

/** What `WebSocketStream.closed` resolves with. */
export interface WebSocketStreamCloseInfo {
  closeCode?: number;
  reason?: string;
}

/** The part of `WebSocketStream` this transport uses. */
export interface WebSocketStreamLike {
  readonly opened: Promise<WebSocketStreamConnection>;
  readonly closed: Promise<WebSocketStreamCloseInfo>;
  close(info?: WebSocketStreamCloseInfo): void;
}

/** A `WebSocketStream` constructor: `new (url, { protocols, signal })`. */
export type WebSocketStreamConstructor = new (
  url: string,
  options?: { protocols?: string[]; signal?: AbortSignal },
) => WebSocketStreamLike;

/** Options of {@link WebSocketStreamTransport}. */
export interface WebSocketStreamTransportOptions extends MessageTransportOptions {
  /** The serializers this side speaks; the negotiated subprotocol picks one (or its batched variant). Default JSON only. */
  serializers?: readonly Serializer[];
  /** Largest message accepted from the peer, in bytes (UTF-16 code units for text). Default 16 MiB. */
  maxMessageSize?: number;
  /**
   * Bytes handed to the writer and not yet taken by the browser above which
   * the transport gives up (closes, and reports `WAMP_ERR_BUFFER_OVERFLOW`).
   * Default 64 MiB.
   */
  maxBufferedBytes?: number;
  /** Extra channel facts for {@link WampTransportInfo} (e.g. `secure`). */
  info?: Partial<Omit<WampTransportInfo, 'type' | 'serializer' | 'protocol'>>;
}

/** Default of {@link WebSocketStreamTransportOptions.maxMessageSize}: 16 MiB, as the router's. */
export const DEFAULT_WSS_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
/** Default of {@link WebSocketStreamTransportOptions.maxBufferedBytes}: 64 MiB. */
export const DEFAULT_WSS_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

const DEFAULT_SERIALIZERS: readonly Serializer[] = [new JsonSerializer()];

/** UTF-8 length of a string, without encoding it. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 2; // a surrogate pair: 4 bytes for 2 code units
      i++;
    } else n += 2;
  }
  return n;
}

function positive(v: number | undefined, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : dflt;
}

/**
 * A {@link WampTransport} over an OPENED `WebSocketStream`. Usually made by
 * {@link connectWampWebSocketStream}; construct it yourself when you opened the
 * stream (pass the stream and what `opened` resolved with).
 *
 * @throws `WampSessionError` `WAMP_ERR_CONNECT` when `conn.protocol` is not the subprotocol of one of `serializers`.
 */
export class WebSocketStreamTransport extends MessageTransport {
  readonly info: WampTransportInfo;
  private readonly wss: WebSocketStreamLike;
  private readonly conn: WebSocketStreamConnection;
  private readonly writer: WritableStreamDefaultWriter<string | ArrayBuffer | ArrayBufferView>;
  private readonly maxMessageSize: number;
  private readonly maxBufferedBytes: number;
  private pendingBytes = 0;
  private reading = false;
  private closing = false;
  /** Set when we end the transport ourselves (a limit was exceeded); reported first, so it wins over what the socket says later. */
  private localFailure: { error: WampSessionError; code: number } | null = null;

  constructor(wss: WebSocketStreamLike, conn: WebSocketStreamConnection, options: WebSocketStreamTransportOptions = {}) {
    const known = options.serializers && options.serializers.length > 0 ? options.serializers : DEFAULT_SERIALIZERS;
    const single = known.find((s) => s.subprotocol === conn.protocol);
    const viaBatch = single ? undefined : known.find((s) => s.batched?.subprotocol === conn.protocol);
    const serializer = single ?? viaBatch;
    if (!serializer) {
      throw new WampSessionError(
        'WAMP_ERR_CONNECT',
        'wamp.close.transport_lost',
        `WebSocket subprotocol '${conn.protocol}' is not a WAMP subprotocol we speak`,
      );
    }
    super(serializer, viaBatch?.batched ?? null, options);
    this.wss = wss;
    this.conn = conn;
    this.info = { ...options.info, type: 'websocket', serializer: serializer.id, protocol: conn.protocol };
    this.maxMessageSize = positive(options.maxMessageSize, DEFAULT_WSS_MAX_MESSAGE_SIZE);
    this.maxBufferedBytes = positive(options.maxBufferedBytes, DEFAULT_WSS_MAX_BUFFERED_BYTES);
    this.writer = conn.writable.getWriter();
    // `closed` is the one place the end is learned: it resolves with the peer's
    // close code and reason, or rejects (a WebSocketError, 1006) when the
    // connection failed.
    wss.closed.then(
      (ci) => this.finish(ci.closeCode ?? 1005, ci.reason ?? '', true),
      (err: unknown) => {
        const e = err as { closeCode?: unknown; reason?: unknown };
        this.finish(
          typeof e?.closeCode === 'number' ? e.closeCode : 1006,
          typeof e?.reason === 'string' ? e.reason : '',
          false,
          err instanceof Error ? err : undefined,
        );
      },
    );
  }

  get bufferedAmount(): number {
    return this.pendingBytes;
  }

  /** Installs the handler and starts reading (nothing is read before: the browser holds the data back). */
  override open(handler: WampTransportHandler): void {
    super.open(handler);
    if (!this.reading && this.isOpen) {
      this.reading = true;
      void this.readLoop();
    }
  }

  private async readLoop(): Promise<void> {
    let reader: ReadableStreamDefaultReader<string | ArrayBuffer | ArrayBufferView>;
    try {
      reader = this.conn.readable.getReader();
    } catch {
      return; // locked or errored: `closed` reports the end
    }
    try {
      while (this.isOpen && !this.closing) {
        const r = await reader.read();
        if (r.done) return;
        const v = r.value;
        let data: string | Uint8Array;
        if (typeof v === 'string') data = v;
        else if (v instanceof ArrayBuffer) data = new Uint8Array(v);
        else if (ArrayBuffer.isView(v)) data = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
        else data = String(v);
        const size = typeof data === 'string' ? data.length : data.byteLength;
        if (size > this.maxMessageSize) {
          this.fail(
            new WampSessionError(
              'WAMP_ERR_BUFFER_OVERFLOW',
              'wamp.close.transport_lost',
              `a message of ${size} bytes exceeds maxMessageSize ${this.maxMessageSize}`,
            ),
            1009,
          );
          return;
        }
        this.receiveRaw(data);
      }
    } catch {
      // The readable errored: the connection failed, `closed` rejects and reports it.
    } finally {
      try {
        reader.releaseLock();
      } catch {
        // a pending read on a closing stream; nothing to release
      }
    }
  }

  protected sendRaw(data: string | Uint8Array): void {
    if (this.closing) return;
    let chunk: string | Uint8Array = data;
    let size: number;
    if (typeof data === 'string') size = utf8Length(data);
    else {
      size = data.byteLength;
      // The writable keeps the chunk by reference until the browser takes it;
      // an encoder may reuse its buffer for the next message, so own a copy.
      if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) chunk = data.slice();
    }
    if (this.pendingBytes + size > this.maxBufferedBytes) {
      this.fail(
        new WampSessionError(
          'WAMP_ERR_BUFFER_OVERFLOW',
          'wamp.close.transport_lost',
          `more than maxBufferedBytes ${this.maxBufferedBytes} waiting to be sent`,
        ),
        1009,
      );
      return;
    }
    this.pendingBytes += size;
    const done = (): void => {
      this.pendingBytes -= size;
      this.drained();
    };
    // A failed write means the connection failed; `closed` reports that.
    this.writer.write(chunk).then(done, done);
  }

  protected closeRaw(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    // WebSocketStream.close() takes 1000 and 3000-4999 only, and a reason of at
    // most 123 UTF-8 bytes (WHATWG WebSockets, "close the WebSocket").
    const closeCode = code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000;
    try {
      this.wss.close({ closeCode, reason: utf8Length(reason) <= 123 ? reason : '' });
    } catch {
      try {
        this.wss.close();
      } catch {
        // already closed
      }
    }
  }

  /** Ends the transport on our side: close the socket, report `error` with `code`. */
  private fail(error: WampSessionError, code: number): void {
    if (this.localFailure || !this.isOpen) return;
    this.localFailure = { error, code };
    this.closeRaw(1000, '');
    // Reported on a later tick, as a socket's close would be: never from inside send().
    queueMicrotask(() => this.finish(code, error.message, false, error));
  }

  private finish(code: number, reason: string, wasClean: boolean, error?: Error): void {
    this.closing = true;
    this.pendingBytes = 0;
    // Our own reason for ending wins over what the socket reports after our close().
    const local = this.localFailure;
    if (local) this.closed({ code: local.code, reason: local.error.message, wasClean: false, error: local.error });
    else this.closed({ code, reason, wasClean, ...(error ? { error } : {}) });
  }
}

/** Options of {@link connectWampWebSocketStream}. */
export interface ConnectWampWebSocketStreamOptions extends WebSocketStreamTransportOptions {
  /**
   * WAMP subprotocols offered, in order of preference; each must belong to one
   * of `serializers` (or be its batched variant). Default: the subprotocols of
   * `serializers`, in their order.
   */
  protocols?: readonly string[];
  /** The constructor. Default `globalThis.WebSocketStream`. */
  WebSocketStream?: WebSocketStreamConstructor;
  /** Milliseconds to wait for the connection to open. Default 10000. */
  timeout?: number;
  /** Aborts connecting (passed to `WebSocketStream` as its `signal`). */
  signal?: AbortSignal;
}

const DEFAULT_CONNECT_TIMEOUT = 10_000;

function connectError(message: string, cause?: unknown): WampSessionError {
  return new WampSessionError('WAMP_ERR_CONNECT', 'wamp.close.transport_lost', message, cause === undefined ? {} : { cause });
}

/**
 * Connects to a WAMP router with `WebSocketStream` and resolves with an
 * unopened {@link WampTransport} for `Session.join`. Rejects with a
 * `WampSessionError` `WAMP_ERR_CONNECT` when the runtime has no
 * `WebSocketStream`, the connection fails, times out or is aborted, or the
 * server picks no subprotocol we offered; `WAMP_ERR_INVALID_ARGUMENT` when a
 * protocol in `protocols` belongs to no serializer given.
 *
 * In a browser: `Session.join(await connectWampWebSocketStream('wss://router.example.com/ws'), 'realm1')`.
 *
 * @param url - `ws://` or `wss://` URL of the router
 * @param options - serializers, subprotocols, timeout, signal, limits
 */
export async function connectWampWebSocketStream(url: string, options: ConnectWampWebSocketStreamOptions = {}): Promise<WampTransport> {
  const serializers = options.serializers && options.serializers.length > 0 ? options.serializers : DEFAULT_SERIALIZERS;
  const {
    protocols = serializers.map((s) => s.subprotocol),
    WebSocketStream: Ctor = (globalThis as { WebSocketStream?: WebSocketStreamConstructor }).WebSocketStream,
    timeout,
    signal,
    ...transportOptions
  } = options;
  if (typeof Ctor !== 'function') {
    throw connectError('this runtime has no WebSocketStream: use connectWebSocket, or pass options.WebSocketStream');
  }
  const spoken = new Set<string>();
  for (const s of serializers) {
    spoken.add(s.subprotocol);
    if (s.batched) spoken.add(s.batched.subprotocol);
  }
  for (const p of protocols) {
    if (!spoken.has(p)) {
      throw new WampSessionError(
        'WAMP_ERR_INVALID_ARGUMENT',
        'wamp.error.invalid_argument',
        `'${p}' is not the subprotocol of a serializer given (${[...spoken].join(', ')})`,
      );
    }
  }
  if (signal?.aborted) throw connectError('connecting was aborted', signal.reason);

  // One signal for the handshake: the caller's, or our timer.
  const abort = new AbortController();
  const ms = typeof timeout === 'number' && timeout > 0 ? timeout : DEFAULT_CONNECT_TIMEOUT;
  let why: WampSessionError | null = null;
  const stop = (error: WampSessionError): void => {
    if (why) return;
    why = error;
    abort.abort(error);
  };
  const onAbort = (): void => stop(connectError('connecting was aborted', signal?.reason));
  const timer = setTimeout(() => stop(connectError(`no connection to ${url} within ${ms} ms`)), ms);
  signal?.addEventListener('abort', onAbort, { once: true });

  let wss: WebSocketStreamLike | undefined;
  let handshakeAborted = false;
  try {
    try {
      wss = new Ctor(url, { protocols: [...protocols], signal: abort.signal });
    } catch (err) {
      throw connectError(`could not connect to ${url}: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    // Nothing else observes `closed` until the transport exists.
    wss.closed.catch(() => {});
    let conn: WebSocketStreamConnection;
    try {
      conn = await new Promise<WebSocketStreamConnection>((resolve, reject) => {
        (wss as WebSocketStreamLike).opened.then(resolve, reject);
        // Settles at once on timeout/abort even if `opened` lags behind the signal.
        abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true });
      });
    } catch (err) {
      if (why) {
        handshakeAborted = true;
        throw why;
      }
      const e = err as { closeCode?: unknown; message?: unknown };
      const detail = typeof e?.closeCode === 'number' ? ` (${e.closeCode})` : typeof e?.message === 'string' && e.message ? `: ${e.message}` : '';
      throw connectError(`could not connect to ${url}${detail}`, err);
    }
    if (why) throw why;
    if (!protocols.includes(conn.protocol)) {
      throw connectError(`the server chose subprotocol '${conn.protocol}', none of ${protocols.join(', ')}`);
    }
    return new WebSocketStreamTransport(wss, conn, { ...transportOptions, serializers });
  } catch (err) {
    // The signal already ended an aborted handshake. Chromium 156 crashes the
    // page's renderer when close() is then called on that stream (measured:
    // test/browser/websocketstream.test.ts, connect failures), so we do not.
    if (!handshakeAborted) {
      try {
        wss?.close();
      } catch {
        // closing a stream that never opened is best effort
      }
    }
    throw err instanceof WampSessionError ? err : connectError(`could not connect to ${url}`, err);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
