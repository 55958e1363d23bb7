/**
 * WebSocket over any Web Streams byte duplex — `{ readable, writable }` of
 * `Uint8Array`: a Deno `Conn`, Node's `Duplex.toWeb(socket)`, a
 * `TransformStream` pair in memory, a TLS stream of your own. The opening
 * handshake runs over the duplex (client: {@link connectWebSocketStream};
 * server: {@link acceptWebSocketStream}); then {@link StreamTransport} drives
 * the runtime-neutral {@link WebSocketConnection}.
 *
 * Backpressure both ways: the read loop asks the readable for the next chunk
 * only while the connection is not paused (a slow message consumer, an
 * inflate in progress), so an unread socket fills the peer's TCP window
 * rather than our memory; writes go through the writer, and what the writer
 * has not finished counts in `bufferedAmount` until its promise settles,
 * which is when `drain` fires.
 *
 * No `node:*`, no `Buffer`: runs in Deno, browsers, workers and Node.
 *
 * @module
 */
import { WebSocketConnection, type ConnectionOptions, type RuntimeHooks, type Transport } from '../connection.js';
import { CloseCode, WebSocketError, handshakeError } from '../core/ws/errors.js';
import {
  HttpHeadParser,
  buildAcceptResponse,
  buildRejectResponse,
  computeAccept,
  generateKey,
  parseUpgradeRequest,
  validateUpgradeResponse,
  type HttpHead,
  type ServerHandshakeRequest,
} from '../core/ws/handshake.js';
import { DEFAULT_LIMITS } from '../core/ws/constants.js';
import type { DeflateOptions } from '../core/deflate/negotiate.js';
import type { DeflateBackend } from '../core/deflate/backend.js';
import { pakoBackend } from '../core/deflate/pako-backend.js';
import {
  buildClientRequest,
  clientDeflateOptions,
  clientExtensions,
  negotiateServer,
  parseWebSocketUrl,
  serverDeflateOptions,
  wantsWebSocket,
  type ClientRequestOptions,
  type VerifyRejection,
} from './negotiate.js';

export type { VerifyRejection } from './negotiate.js';

/** A connection as two byte streams: what every runtime adapter reduces a socket to. */
export interface ByteDuplex {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/** What a transport reports to: a {@link WebSocketConnection} (these are its adapter-facing methods). */
export interface TransportSink {
  /** Bytes arrived. */
  receive(chunk: Uint8Array): void;
  /** Everything written has been taken by the writable's sink. */
  transportDrained(): void;
  /** Both directions are done, or the duplex was destroyed or failed (`error`). */
  transportClosed(error?: unknown): void;
}

/** Writes made in one synchronous run are joined into one chunk up to this size (one syscall, not one per frame). */
const JOIN_LIMIT = 64 * 1024;

const noop = (): void => {};

/**
 * A {@link ByteDuplex} as a {@link Transport}. Before {@link start} it can
 * be read chunk by chunk (the opening handshake); after it, a read loop
 * delivers every chunk to the connection, honouring `pause()`.
 *
 * Closing follows TCP: `end()` closes the writable once everything queued
 * is written (a half-close — the peer's remaining bytes are still read);
 * the transport is closed when the readable has ended and the writable is
 * closed, or at once on `destroy()` or an error (the readable is cancelled
 * and the writable aborted).
 */
export class StreamTransport implements Transport {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private sink: TransportSink | null = null;
  /** Written during this synchronous run; handed to the writer in a microtask. */
  private pending: Uint8Array[] | null = null;
  private pendingBytes = 0;
  /** Handed to the writer, whose write promise has not settled yet. */
  private inFlight = 0;
  private paused = false;
  private wake: (() => void) | null = null;
  private started = false;
  private ending = false;
  /** close(): stop reading once the writable is closed. */
  private closing = false;
  private readEnded = false;
  private writeEnded = false;
  private destroyed = false;
  private finished = false;
  private error: unknown = undefined;
  private destroyTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly flushNow = (): void => this.flush();

  constructor(duplex: ByteDuplex) {
    this.reader = duplex.readable.getReader();
    this.writer = duplex.writable.getWriter();
    // A rejected `closed` would be unhandled when nobody else watches it.
    this.writer.closed.catch(noop);
    this.reader.closed.catch(noop);
  }

  /** Bytes written but not yet accepted by the writable's sink. */
  get bufferedAmount(): number {
    return this.inFlight + this.pendingBytes;
  }

  /** True once closed (both directions done, destroyed, or failed). */
  get closed(): boolean {
    return this.finished;
  }

  /**
   * Before {@link start}: the next chunk, or null at the end of the stream
   * (or after destroy()). Rejects with the readable's error.
   */
  async readChunk(): Promise<Uint8Array | null> {
    if (this.started) throw new Error('StreamTransport.readChunk() after start()');
    if (this.destroyed || this.readEnded) return null;
    const r = await this.reader.read();
    if (this.destroyed) return null;
    if (r.done) {
      this.readEnded = true;
      this.maybeFinish();
      return null;
    }
    return toChunk(r.value);
  }

  /** Deliver received bytes to `sink` from now on (call once, after attaching it). */
  start(sink: TransportSink): void {
    if (this.started) throw new Error('StreamTransport.start() called twice');
    this.started = true;
    this.sink = sink;
    if (this.finished) {
      sink.transportClosed(this.error);
      return;
    }
    this.readLoop().catch((err: unknown) => this.fail(err));
  }

  write(chunk: Uint8Array): void {
    if (this.destroyed || this.ending) return;
    if (this.pending === null) {
      this.pending = [chunk];
      this.pendingBytes = chunk.length;
      queueMicrotask(this.flushNow);
    } else {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
  }

  end(): void {
    if (this.destroyed || this.ending) return;
    this.flush();
    this.ending = true;
    this.writer.close().then(
      () => {
        this.writeEnded = true;
        if (this.closing) this.stopReading();
        this.maybeFinish();
      },
      (err: unknown) => this.fail(err),
    );
  }

  /**
   * Close both directions (a server after the closing handshake): the
   * writable closes once everything queued is written, then the readable is
   * cancelled instead of waiting for the peer to end it.
   */
  close(): boolean {
    if (this.destroyed || this.finished) return true;
    this.closing = true;
    if (this.writeEnded) {
      this.stopReading();
      this.maybeFinish();
      return this.finished;
    }
    this.end();
    return false;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pending = null;
    this.pendingBytes = 0;
    // What the writer held is dropped with it.
    this.inFlight = 0;
    this.reader.cancel().catch(noop);
    this.writer.abort().catch(noop);
    this.resume();
    // Report on a later microtask, as a socket's 'close' comes after destroy() returns.
    queueMicrotask(() => this.finish());
  }

  /**
   * Half-close now and destroy after `ms` unless the peer has closed by
   * then: for answering a refused handshake and hanging up.
   */
  endThenDestroy(ms: number): void {
    this.end();
    if (this.finished || this.destroyTimer) return;
    this.destroyTimer = setTimeout(() => {
      this.destroyTimer = null;
      this.destroy();
    }, ms);
    unrefTimer(this.destroyTimer);
    if (!this.started) {
      // Read (and drop) whatever the peer still sends, to see its FIN and close early.
      this.started = true;
      this.discardInput().catch(noop);
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const w = this.wake;
    if (w !== null) {
      this.wake = null;
      w();
    }
  }

  // ---- internals ------------------------------------------------------------

  private flush(): void {
    const list = this.pending;
    if (list === null) return;
    const total = this.pendingBytes;
    this.pending = null;
    this.pendingBytes = 0;
    if (this.destroyed) return;
    if (list.length === 1) this.send(list[0] as Uint8Array);
    else if (total <= JOIN_LIMIT) this.send(join(list, total));
    else for (let i = 0; i < list.length; i++) this.send(list[i] as Uint8Array);
  }

  private send(chunk: Uint8Array): void {
    const n = chunk.length;
    this.inFlight += n;
    this.writer.write(chunk).then(
      () => {
        this.inFlight -= n;
        if (this.inFlight === 0 && this.pendingBytes === 0 && !this.finished) this.sink?.transportDrained();
      },
      (err: unknown) => this.fail(err),
    );
  }

  private async readLoop(): Promise<void> {
    const reader = this.reader;
    for (;;) {
      if (this.paused) await this.resumed();
      if (this.destroyed) return;
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (err) {
        if (this.destroyed) return;
        // After our own end() the close handshake is over (or failed with its
        // own error); a reset while waiting for the peer's FIN loses nothing.
        if (this.ending) {
          this.readEnded = true;
          this.maybeFinish();
        } else this.fail(err);
        return;
      }
      if (this.destroyed) return;
      if (r.done) break;
      const chunk = toChunk(r.value);
      // pause() may have come while the read was in flight: hold the chunk.
      if (this.paused) await this.resumed();
      if (this.destroyed) return;
      (this.sink as TransportSink).receive(chunk);
    }
    // The peer half-closed: finish our side too (its Close frame, if any, was processed).
    this.readEnded = true;
    this.end();
    this.maybeFinish();
  }

  private async discardInput(): Promise<void> {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await this.reader.read();
      } catch {
        r = { done: true, value: undefined };
      }
      if (this.destroyed) return;
      if (r.done) {
        this.readEnded = true;
        this.maybeFinish();
        return;
      }
    }
  }

  private resumed(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.paused || this.destroyed) resolve();
      else this.wake = resolve;
    });
  }

  private fail(err: unknown): void {
    // After destroy() the streams' rejections are our own doing, not news.
    if (this.finished || this.destroyed) return;
    if (this.error === undefined) this.error = err ?? new Error('stream error');
    this.destroy();
  }

  private stopReading(): void {
    if (this.readEnded) return;
    this.readEnded = true;
    this.reader.cancel().catch(noop);
  }

  private maybeFinish(): void {
    if (this.readEnded && this.writeEnded) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.destroyTimer) clearTimeout(this.destroyTimer);
    this.destroyTimer = null;
    if (!this.destroyed) {
      // Both directions are done: release the streams' locks.
      try {
        this.reader.releaseLock();
        this.writer.releaseLock();
      } catch {
        // a read still pending on an odd stream: keep the locks
      }
    }
    if (this.sink) this.sink.transportClosed(this.error);
  }
}

function toChunk(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(`a byte stream yielded ${Object.prototype.toString.call(value)}, not bytes`);
}

function join(list: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of list) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function unrefTimer(t: unknown): void {
  const u = (t as { unref?: () => void } | null)?.unref;
  if (typeof u === 'function') u.call(t);
}

const textEncoder = new TextEncoder();

/** Read an HTTP head from the transport, bounded in size (the parser) and time. */
function readHead(t: StreamTransport, parser: HttpHeadParser, ms: number, onTimeout: () => WebSocketError): Promise<{ head: HttpHead; rest: Uint8Array }> {
  const loop = async (): Promise<{ head: HttpHead; rest: Uint8Array }> => {
    for (;;) {
      const chunk = await t.readChunk();
      if (chunk === null) throw new WebSocketError('WS_ERR_CONNECTION_LOST', 'connection closed during the opening handshake', CloseCode.ABNORMAL);
      const res = parser.push(chunk);
      if (res) return res;
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    loop().then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

// ---------------------------------------------------------------- client

/** Options of {@link connectWebSocketStream}. */
export interface StreamClientOptions extends ConnectionOptions, ClientRequestOptions {
  /** Subprotocols to offer, by preference. */
  protocols?: string | string[];
  /**
   * Offer permessage-deflate: `false`, `true` (default, as browsers do), its
   * options, or several offers by preference (the server accepts one).
   */
  perMessageDeflate?: boolean | DeflateOptions | DeflateOptions[];
  /** DEFLATE implementation. Default `pakoBackend` (pure JS, runs everywhere). */
  deflateBackend?: DeflateBackend;
  /** Time allowed for the server's answer, ms. Default 10000. */
  openTimeout?: number;
  /** Largest response head accepted. Default 16 KiB. */
  maxHandshakeSize?: number;
  /** Faster native helpers of the runtime, if any. */
  hooks?: RuntimeHooks;
}

/**
 * Open a WebSocket over an already connected byte duplex (TCP, TLS, or
 * anything else that carries bytes both ways): send the upgrade request for
 * `url` (its host, path, query and credentials), check the answer (RFC 6455
 * §4.1: status 101, Upgrade, Connection, Sec-WebSocket-Accept, the
 * subprotocol, the extensions), and resolve with the open connection. The
 * duplex belongs to the connection from then on.
 *
 * Frames the server sent right behind its 101 are delivered on a later
 * event-loop turn, after the caller's `await` has resumed and set its
 * handlers.
 *
 * @throws (rejects with) WebSocketError: `WS_ERR_HANDSHAKE_REJECTED` (the
 *   server answered another status, in `err.status`),
 *   `WS_ERR_HANDSHAKE_INVALID`, `WS_ERR_INVALID_SUBPROTOCOL`,
 *   `WS_ERR_INVALID_EXTENSION`, `WS_ERR_HANDSHAKE_TOO_BIG`,
 *   `WS_ERR_OPEN_TIMEOUT`, `WS_ERR_CONNECTION_LOST`; SyntaxError for a bad
 *   URL. The duplex is closed on failure.
 *
 * @example
 * ```ts
 * // Two in-memory pipes make a duplex for each end.
 * const up = new TransformStream<Uint8Array, Uint8Array>();
 * const down = new TransformStream<Uint8Array, Uint8Array>();
 * const [server, client] = await Promise.all([
 *   acceptWebSocketStream({ readable: up.readable, writable: down.writable }, { protocols: ['chat'] }),
 *   connectWebSocketStream({ readable: down.readable, writable: up.writable }, 'ws://example.test/chat', { protocols: ['chat'] }),
 * ]);
 * server.onmessage = (e) => server.send(e.raw, { binary: e.binary });
 * client.onmessage = (e) => {
 *   console.log(client.protocol, e.data); // chat hello
 *   client.close(1000);
 * };
 * client.send('hello');
 * await new Promise((resolve) => client.addEventListener('close', resolve));
 * ```
 */
export async function connectWebSocketStream(duplex: ByteDuplex, url: string | URL, options: StreamClientOptions = {}): Promise<WebSocketConnection> {
  const t = new StreamTransport(duplex);
  try {
    const target = parseWebSocketUrl(url);
    const protocols = options.protocols === undefined ? [] : typeof options.protocols === 'string' ? [options.protocols] : options.protocols;
    const deflate = clientDeflateOptions(options.perMessageDeflate);
    // §4.1: the nonce "MUST be selected randomly for each connection".
    const key = generateKey((b) => crypto.getRandomValues(b));
    let request: string;
    try {
      request = buildClientRequest(target, key, protocols, deflate, options);
    } catch (err) {
      throw new WebSocketError('WS_ERR_HANDSHAKE_INVALID', (err as Error).message, CloseCode.ABNORMAL);
    }
    t.write(textEncoder.encode(request));
    const openTimeout = options.openTimeout ?? 10_000;
    const { head, rest } = await readHead(
      t,
      new HttpHeadParser(options.maxHandshakeSize ?? DEFAULT_LIMITS.maxHandshakeSize),
      openTimeout,
      () => new WebSocketError('WS_ERR_OPEN_TIMEOUT', `opening handshake timed out after ${openTimeout} ms`, CloseCode.ABNORMAL),
    );
    // SHA-1 for Sec-WebSocket-Accept: the core's default (@noble/hashes), synchronous everywhere.
    const v = validateUpgradeResponse(head, { key, protocols, extensionsOffered: deflate !== null });
    const { codec, extensions } = clientExtensions(v.extensions, deflate, options.deflateBackend ?? pakoBackend, options.maxMessageSize);
    const ws = new WebSocketConnection(String(url), options, options.hooks);
    if (codec) ws.addEventListener('close', () => codec.close());
    ws.attach(t, { role: 'client', protocol: v.protocol, extensions, deflate: codec });
    if (rest.length > 0) ws._receiveLater(rest);
    t.start(ws);
    return ws;
  } catch (err) {
    t.destroy();
    if (err instanceof WebSocketError || err instanceof SyntaxError) throw err;
    throw new WebSocketError('WS_ERR_CONNECTION_LOST', err instanceof Error ? err.message : String(err), CloseCode.ABNORMAL);
  }
}

// ---------------------------------------------------------------- server

/** Options of {@link acceptWebSocketStream}. */
export interface StreamServerOptions extends ConnectionOptions {
  /**
   * Subprotocols this server speaks, in preference order: the first of these
   * that the client offered is chosen. Ignored when `handleProtocols` is set.
   * With neither, the client's first offer is taken.
   */
  protocols?: string[];
  /** Choose a subprotocol from the client's offers; return false for none. */
  handleProtocols?: (offered: string[], request: ServerHandshakeRequest) => string | false;
  /**
   * Accept (true) or refuse a client: false answers 403; a
   * {@link VerifyRejection} answers its status, headers and body. A throw or
   * rejection answers 500 (the details stay off the wire).
   */
  verify?: (request: ServerHandshakeRequest) => boolean | VerifyRejection | Promise<boolean | VerifyRejection>;
  /** permessage-deflate: false (default), true, or options. */
  perMessageDeflate?: boolean | DeflateOptions;
  /** DEFLATE implementation. Default `pakoBackend`. */
  deflateBackend?: DeflateBackend;
  /** Largest upgrade request head. Default 16 KiB (then 431). */
  maxHandshakeSize?: number;
  /** Time allowed for the upgrade request to arrive, ms. Default 10000 (then 408). */
  openTimeout?: number;
  /** Faster native helpers of the runtime, if any. */
  hooks?: RuntimeHooks;
}

/** How long a refused client gets to read our answer before the duplex is destroyed, ms. */
const REFUSE_LINGER_MS = 1000;

/** Answer an HTTP error (status only, plus what `extra` says) and hang up. */
function refuse(t: StreamTransport, status: number, extra: { headers?: Array<[string, string]>; body?: string } = {}): void {
  if (t.closed) return;
  t.write(textEncoder.encode(buildRejectResponse(status, extra)));
  t.endThenDestroy(REFUSE_LINGER_MS);
}

/**
 * Server side: read the upgrade request from a fresh duplex (bounded by
 * `maxHandshakeSize` and `openTimeout`), check it (RFC 6455 §4.2.1), let
 * `verify` decide, choose the subprotocol and permessage-deflate, answer
 * 101, and resolve with the open connection (its `url` is the request
 * path). Anything else is answered with an HTTP error — 400, 405, 408,
 * 426, 431, 403 or the verdict's status — and the promise rejects with a
 * WebSocketError whose `status` is that status (`WS_ERR_CONNECTION_LOST`
 * when the client went away first). Frames the client sent right behind
 * its request are delivered on a later event-loop turn.
 *
 * @example
 * ```ts
 * const up = new TransformStream<Uint8Array, Uint8Array>();
 * const down = new TransformStream<Uint8Array, Uint8Array>();
 * const accepting = acceptWebSocketStream(
 *   { readable: up.readable, writable: down.writable },
 *   { verify: (req) => req.headers.get('authorization') === 'Bearer t0ken' || { status: 401 } },
 * );
 * const client = connectWebSocketStream({ readable: down.readable, writable: up.writable }, 'ws://example.test/', {
 *   headers: { Authorization: 'Bearer t0ken' },
 * });
 * const server = await accepting;
 * console.log(server.url); // "/"
 * (await client).close(1000);
 * await new Promise((resolve) => server.addEventListener('close', resolve));
 * ```
 */
export async function acceptWebSocketStream(duplex: ByteDuplex, options: StreamServerOptions = {}): Promise<WebSocketConnection> {
  return (await acceptWebSocketStreamWithRequest(duplex, options)).ws;
}

/**
 * {@link acceptWebSocketStream}, also resolving with the request the
 * connection was opened with (path, headers, offers).
 */
export async function acceptWebSocketStreamWithRequest(
  duplex: ByteDuplex,
  options: StreamServerOptions = {},
): Promise<{ ws: WebSocketConnection; request: ServerHandshakeRequest }> {
  const t = new StreamTransport(duplex);
  let head: HttpHead;
  let rest: Uint8Array;
  try {
    ({ head, rest } = await readHead(
      t,
      new HttpHeadParser(options.maxHandshakeSize ?? DEFAULT_LIMITS.maxHandshakeSize),
      options.openTimeout ?? 10_000,
      () => handshakeError('WS_ERR_OPEN_TIMEOUT', 'request timeout', 408),
    ));
  } catch (err) {
    // A bad or oversize head or a timeout gets its status; a vanished client nothing.
    if (err instanceof WebSocketError && err.status !== 0) refuse(t, err.status);
    else t.destroy();
    throw asError(err);
  }
  if (!wantsWebSocket(head.headers.get('upgrade'))) {
    // A plain HTTP request to a WebSocket-only endpoint (RFC 7231 §6.5.15).
    refuse(t, 426, { headers: [['Upgrade', 'websocket']], body: 'Upgrade Required' });
    throw handshakeError('WS_ERR_HANDSHAKE_INVALID', 'not a WebSocket upgrade request', 426);
  }
  let hs: ServerHandshakeRequest;
  try {
    hs = parseUpgradeRequest(head);
  } catch (err) {
    refuse(t, err instanceof WebSocketError && err.status ? err.status : 400);
    throw err;
  }
  if (options.verify) {
    let verdict: boolean | VerifyRejection;
    try {
      verdict = await options.verify(hs);
    } catch (err) {
      refuse(t, 500);
      throw new WebSocketError('WS_ERR_INTERNAL', `verify failed: ${err instanceof Error ? err.message : String(err)}`, 0, 500);
    }
    if (verdict !== true) {
      const status = verdict === false ? 403 : verdict.status;
      if (verdict === false) refuse(t, 403);
      else {
        try {
          refuse(t, status, { ...(verdict.headers ? { headers: verdict.headers } : {}), ...(verdict.message ? { body: verdict.message } : {}) });
        } catch (err) {
          // A bad status or header from verify: a server bug.
          refuse(t, 500);
          throw new WebSocketError('WS_ERR_INTERNAL', (err as Error).message, 0, 500);
        }
      }
      throw handshakeError('WS_ERR_HANDSHAKE_REJECTED', `client refused with ${status}`, status);
    }
    if (t.closed) throw new WebSocketError('WS_ERR_CONNECTION_LOST', 'connection closed during verify', CloseCode.ABNORMAL);
  }
  let agreed: ReturnType<typeof negotiateServer<ServerHandshakeRequest>>;
  let response: string;
  try {
    agreed = negotiateServer(
      hs,
      {
        protocols: options.protocols,
        handleProtocols: options.handleProtocols,
        deflate: serverDeflateOptions(options.perMessageDeflate),
        backend: options.deflateBackend ?? pakoBackend,
        maxMessageSize: options.maxMessageSize,
      },
      hs,
    );
    // §4.2.2 step 5.4: Sec-WebSocket-Accept, with the core's SHA-1 (@noble/hashes).
    response = buildAcceptResponse({
      accept: computeAccept(hs.key),
      ...(agreed.protocol ? { protocol: agreed.protocol } : {}),
      ...(agreed.extensions ? { extensions: agreed.extensions } : {}),
    });
  } catch (err) {
    refuse(t, 500);
    throw new WebSocketError('WS_ERR_INTERNAL', err instanceof Error ? err.message : String(err), 0, 500);
  }
  t.write(textEncoder.encode(response));
  const ws = new WebSocketConnection(hs.path, options, options.hooks);
  const codec = agreed.codec;
  if (codec) ws.addEventListener('close', () => codec.close());
  ws.attach(t, { role: 'server', protocol: agreed.protocol, extensions: agreed.extensions, deflate: codec });
  if (rest.length > 0) ws._receiveLater(rest);
  t.start(ws);
  return { ws, request: hs };
}

function asError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new WebSocketError('WS_ERR_CONNECTION_LOST', String(err), CloseCode.ABNORMAL);
}
