/**
 * The WAMP transport contract: one WAMP message in, one WAMP message out.
 *
 * A session (client) and the router (server) both talk to a {@link WampTransport}
 * and never see bytes, frames or sockets. Every concrete transport — WebSocket
 * (ours on Node/Deno, the native one in browsers), RawSocket (TCP, TLS, Unix),
 * and the in-process {@link createLocalTransportPair} — fills in this contract,
 * so the same session and router code runs over all of them (nexus's single
 * `Peer` interface; undici's handler object).
 *
 * Received data is decoded by the negotiated serializer and validated by
 * {@link parseMessage} here, in one place: a handler only ever receives
 * well-formed messages. Anything else reaches
 * {@link WampTransportHandler.onProtocolError}, and the handler answers with
 * ABORT(`wamp.error.protocol_violation`) and {@link WampTransport.close} —
 * never a crash, never an unhandled rejection.
 *
 * @module
 */
import { WampProtocolError, protocolViolation } from './errors.js';
import { parseMessage, toWire, type ParseOptions, type WampMessage } from './messages.js';
import { SerializationError, type BatchedSerializer, type BatchLimits, type Serializer } from './serializers/types.js';

/** How a transport ended. */
export interface WampTransportCloseInfo {
  /** WebSocket close code (RawSocket and local transports map onto the same codes: 1000 clean, 1006 abnormal, 1002 protocol error, 1009 too big). */
  code: number;
  /** Close reason, may be empty. */
  reason: string;
  /** `true` when both sides closed in order. */
  wasClean: boolean;
  /** The underlying error, when the transport failed. */
  error?: Error;
}

/**
 * What the transport tells its user. Exactly one of `onClose` ends the
 * transport's life; after it nothing else is called.
 */
export interface WampTransportHandler {
  /** A well-formed WAMP message arrived. */
  onMessage(msg: WampMessage): void;
  /**
   * The peer sent something that is not a valid WAMP message (undecodable
   * bytes, unknown type, wrong shape). The transport stays open so the
   * handler can send ABORT before closing it.
   */
  onProtocolError(error: WampProtocolError | SerializationError): void;
  /** The transport closed (either side, or failed). */
  onClose(info: WampTransportCloseInfo): void;
  /** The outgoing buffer drained below the transport's low-water mark (see {@link WampTransport.bufferedAmount}). */
  onDrain?(): void;
}

/**
 * Facts about the channel, reported to the router (session details
 * `transport`) and to authentication (channel binding).
 */
export interface WampTransportInfo {
  /** `'websocket'`, `'rawsocket'` or `'local'`. */
  type: 'websocket' | 'rawsocket' | 'local';
  /** Serializer id: `'json'`, `'msgpack'` or `'cbor'`. */
  serializer: string;
  /** The WebSocket subprotocol or the RawSocket serializer name, e.g. `'wamp.2.json.batched'`. */
  protocol: string;
  /** Remote address, e.g. `'tcp4:127.0.0.1:51234'` or `'unix'` (as Crossbar reports it). */
  peer?: string;
  /** Whether the channel is encrypted (wss, TLS RawSocket). */
  secure?: boolean;
  /** HTTP request headers of the WebSocket upgrade (server side), lower-case names. */
  httpHeaders?: Readonly<Record<string, string>>;
  /** TLS channel binding data (`tls-unique` / `tls-exporter`) when the channel provides it. */
  channelBinding?: { type: string; data: Uint8Array };
}

/** One WAMP connection, message-level. */
export interface WampTransport {
  /** Channel facts. */
  readonly info: WampTransportInfo;
  /** Bytes queued for sending and not yet handed to the OS (0 when unknown). */
  readonly bufferedAmount: number;
  /** `true` until {@link WampTransportHandler.onClose} was called. */
  readonly isOpen: boolean;
  /**
   * Installs the handler and starts delivery. Messages that arrived before
   * are delivered now, in order. Call once.
   */
  open(handler: WampTransportHandler): void;
  /**
   * Serializes and sends one message.
   * @throws {@link SerializationError} when the message holds a value the serializer cannot represent (nothing is sent).
   */
  send(msg: WampMessage): void;
  /** Closes the transport (WebSocket close code/reason where the transport has one). Idempotent. */
  close(code?: number, reason?: string): void;
}

/** Options shared by transports built on {@link MessageTransport}. */
export interface MessageTransportOptions extends BatchLimits {
  /** Validate URIs strictly (components `[0-9a-z_]` only). Default false (loose). */
  strictUris?: boolean;
  /** Read `null` Arguments/ArgumentsKw as absent (see {@link ParseOptions.acceptNullPayload}). Default false. */
  acceptNullPayload?: boolean;
}

/**
 * What every transport shares: the handler, the deliveries that arrive before
 * {@link WampTransport.open} (kept in order, delivered by open), and the
 * closed flag. @internal
 */
abstract class HandlerSlot {
  private handler: WampTransportHandler | null = null;
  private early: (() => void)[] | null = [];
  protected ended = false;

  get isOpen(): boolean {
    return !this.ended;
  }

  open(handler: WampTransportHandler): void {
    if (this.handler) throw new Error('WampTransport.open() called twice');
    this.handler = handler;
    const early = this.early;
    this.early = null;
    if (early) for (const deliver of early) deliver();
  }

  /** Calls `fn` with the handler now, or once it is installed. Nothing after the end unless `force`. */
  protected deliver(fn: (h: WampTransportHandler) => void, force = false): void {
    if (this.ended && !force) return;
    if (this.handler) fn(this.handler);
    else this.early?.push(() => fn(this.handler as WampTransportHandler));
  }
}

/**
 * The part every message-based transport shares: serialize on send; on
 * receive decode (whole batch or single message), validate, deliver in order,
 * and buffer deliveries until {@link open}. Subclasses supply
 * {@link sendRaw}, {@link closeRaw} and {@link bufferedAmount}, and call
 * {@link receiveRaw} / {@link closed} / {@link drained} from their I/O events.
 */
export abstract class MessageTransport extends HandlerSlot implements WampTransport {
  abstract readonly info: WampTransportInfo;
  abstract readonly bufferedAmount: number;
  private readonly parseOptions: ParseOptions;
  private readonly batchLimits: BatchLimits;

  protected constructor(
    protected readonly serializer: Serializer,
    protected readonly batched: BatchedSerializer | null,
    options: MessageTransportOptions = {},
  ) {
    super();
    // The options object serves as both (no copies: a router holds thousands of transports).
    this.parseOptions = this.batchLimits = options;
  }

  send(msg: WampMessage): void {
    if (this.ended) return;
    const wire = toWire(msg);
    this.sendRaw(this.batched ? this.batched.encodeBatch([wire]) : this.serializer.encode(wire));
  }

  close(code = 1000, reason = ''): void {
    if (this.ended) return;
    this.closeRaw(code, reason);
  }

  /** Hands one serialized message to the channel. */
  protected abstract sendRaw(data: string | Uint8Array): void;
  /** Starts closing the channel; the subclass calls {@link closed} when done. */
  protected abstract closeRaw(code: number, reason: string): void;

  /** Call with each transport message received. */
  protected receiveRaw(data: string | Uint8Array): void {
    if (this.ended) return;
    let decoded: unknown[];
    try {
      decoded = this.batched ? this.batched.decodeBatch(data, this.batchLimits) : [this.serializer.decode(data)];
    } catch (err) {
      this.protocolError(
        err instanceof SerializationError ? err : new SerializationError(`decode failed: ${String(err)}`, { cause: err }),
      );
      return;
    }
    for (const raw of decoded) {
      let msg: WampMessage;
      try {
        msg = parseMessage(raw, this.parseOptions);
      } catch (err) {
        this.protocolError(err instanceof WampProtocolError ? err : protocolViolation(String(err)));
        return;
      }
      this.deliver((h) => h.onMessage(msg));
      if (this.ended) return;
    }
  }

  /** Call once when the channel is closed. */
  protected closed(info: WampTransportCloseInfo): void {
    if (this.ended) return;
    this.ended = true;
    this.deliver((h) => h.onClose(info), true);
  }

  /** Call when the outgoing buffer drained. */
  protected drained(): void {
    if (!this.ended) this.deliver((h) => h.onDrain?.());
  }

  private protocolError(err: WampProtocolError | SerializationError): void {
    this.deliver((h) => h.onProtocolError(err));
  }
}

/** Options of {@link createLocalTransportPair}. */
export interface LocalTransportOptions {
  /**
   * Round-trip every message through this serializer (catches values that
   * would not survive a real transport). Default: none, messages pass as
   * objects (fastest; both ends must not mutate what they send).
   */
  serializer?: Serializer;
  /** `info.peer` reported on the second transport (the "server" side). Default `'local'`. */
  peer?: string;
}

class LocalTransport extends HandlerSlot implements WampTransport {
  readonly info: WampTransportInfo;
  other!: LocalTransport;
  private readonly serializer: Serializer | undefined;

  constructor(info: WampTransportInfo, serializer: Serializer | undefined) {
    super();
    this.info = info;
    this.serializer = serializer;
  }

  get bufferedAmount(): number {
    return 0;
  }

  send(msg: WampMessage): void {
    if (this.ended) return;
    let out: WampMessage = msg;
    if (this.serializer) {
      const data = this.serializer.encode(toWire(msg));
      out = parseMessage(this.serializer.decode(data));
    }
    // Asynchronous like a real channel: a send never re-enters the sender.
    queueMicrotask(() => this.other.receive((h) => h.onMessage(out)));
  }

  close(code = 1000, reason = ''): void {
    if (this.ended) return;
    queueMicrotask(() => {
      this.end({ code, reason, wasClean: true });
      this.other.end({ code, reason, wasClean: true });
    });
  }

  /** @internal */
  end(info: WampTransportCloseInfo): void {
    if (this.ended) return;
    this.ended = true;
    this.deliver((h) => h.onClose(info), true);
  }

  /** @internal The other end delivers through this. */
  receive(fn: (h: WampTransportHandler) => void): void {
    this.deliver(fn);
  }
}

/**
 * Two connected in-process transports: what one sends, the other receives
 * (asynchronously, in order). For embedding a session in the router's process
 * (trusted components such as a dynamic authenticator) and for tests.
 *
 * @example
 * ```ts
 * import { createLocalTransportPair } from 'autostrada';
 * const [client, server] = createLocalTransportPair();
 * server.open({
 *   onMessage: (msg) => server.send({ type: 3, details: {}, reason: 'wamp.error.no_such_realm' }),
 *   onProtocolError: () => {},
 *   onClose: () => {},
 * });
 * const got = await new Promise((resolve) => {
 *   client.open({ onMessage: resolve, onProtocolError: () => {}, onClose: () => {} });
 *   client.send({ type: 1, realm: 'nowhere', details: {} });
 * });
 * console.assert((got as { reason: string }).reason === 'wamp.error.no_such_realm');
 * ```
 */
export function createLocalTransportPair(options: LocalTransportOptions = {}): [WampTransport, WampTransport] {
  const serializer = options.serializer;
  const id = serializer?.id ?? 'json';
  const protocol = serializer?.subprotocol ?? 'wamp.2.json';
  const a = new LocalTransport({ type: 'local', serializer: id, protocol, peer: 'local' }, serializer);
  const b = new LocalTransport({ type: 'local', serializer: id, protocol, peer: options.peer ?? 'local' }, serializer);
  a.other = b;
  b.other = a;
  return [a, b];
}
