/**
 * The WebSocket protocol after the opening handshake, sans-I/O: bytes in
 * (`receive`), events and bytes out (through a {@link ProtocolHandler}).
 * It owns the closing handshake (RFC 6455 §5.5.1, §7) and failure (§7.1.7);
 * timers and sockets belong to the driver that pumps it.
 *
 * @example
 * ```ts
 * import { WebSocketProtocol } from 'autostrada';
 * const out: Uint8Array[] = [];
 * const p = new WebSocketProtocol({ role: 'server' }, {
 *   write: (b) => out.push(b),
 *   closeTransport: () => {},
 *   onMessage: (data, binary) => p.send(data, binary), // echo
 * });
 * // a masked client frame "Hi" (RFC 6455 §5.7 example uses "Hello")
 * p.receive(new Uint8Array([0x81, 0x82, 1, 2, 3, 4, 0x48 ^ 1, 0x69 ^ 2]));
 * console.log(out[0]); // Uint8Array [0x81, 0x02, 0x48, 0x69]
 * ```
 */
import { DEFAULT_LIMITS, Opcode, type Limits } from './constants.js';
import { CloseCode, WebSocketError } from './errors.js';
import { encodeClosePayload } from './close.js';
import { FrameDecoder, type FrameDecoderOptions } from './decoder.js';
import { MessageReceiver, type MessageInflater, type MessageReceiverOptions } from './receiver.js';
import { MessageSender, type MessageDeflater, type MessageSenderOptions } from './sender.js';
import type { FramePiece, MaskKeySource, ReceiveEvent } from './types.js';
import type { Alloc } from './encoder.js';

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;
export type ReadyState = typeof CONNECTING | typeof OPEN | typeof CLOSING | typeof CLOSED;

/** permessage-deflate as the protocol needs it (both halves). */
export interface PerMessageCodec extends MessageInflater, MessageDeflater {
  close?(): void;
}

export interface ProtocolOptions extends Partial<Limits> {
  role: 'client' | 'server';
  /** Negotiated permessage-deflate codec, or null. */
  deflate?: PerMessageCodec | null;
  /** Deliver messages as stream events (message-start/data/end) to `onStreamEvent`. */
  streaming?: boolean;
  /** Answer pings with pongs automatically (§5.5.2). Default true. */
  autoPong?: boolean;
  /** Mask key source; required for clients. */
  maskKey?: MaskKeySource;
  /** A native whole-buffer UTF-8 check, if the runtime has one. */
  isUtf8?: (bytes: Uint8Array) => boolean;
  /** Output buffer allocator (Node passes pooled Buffers). */
  alloc?: Alloc;
  /** A faster unmask for received payloads (Node: native when available). */
  unmask?: ((data: Uint8Array, key: Uint8Array, phase: number) => void) | undefined;
}

export interface ProtocolHandler {
  /** Bytes to send, in order. */
  write(chunk: Uint8Array): void;
  /**
   * The protocol is done with the transport. `close`: flush and close TCP
   * (a server once both Close frames are exchanged: §7.1.1 "the server MUST
   * close the underlying TCP connection immediately"). `end`: flush and
   * half-close, still reading what the peer sends until it closes (either
   * side failing the connection: the peer gets to read our Close frame).
   * `wait`: a client waits for the server to close TCP first (§7.1.1). The
   * driver applies a timeout to `end` and `wait`.
   */
  closeTransport(how: 'close' | 'end' | 'wait'): void;
  onMessage?(data: Uint8Array, binary: boolean): void;
  onStreamEvent?(event: ReceiveEvent): void;
  onPing?(data: Uint8Array): void;
  onPong?(data: Uint8Array): void;
  /** A Close frame arrived from the peer (readyState is now CLOSING or CLOSED). */
  onCloseFrame?(code: number, reason: string): void;
  /** The connection failed: a protocol violation by the peer or a local fault. */
  onError?(err: WebSocketError): void;
  /** Queued async work drained (the driver may resume reading / report drain). */
  onDrain?(): void;
}

/** How the connection ended, as a `close` event reports it. */
export interface CloseInfo {
  code: number;
  reason: string;
  wasClean: boolean;
}

export class WebSocketProtocol {
  readonly role: 'client' | 'server';
  private state: ReadyState = OPEN;
  private readonly handler: ProtocolHandler;
  private readonly decoder: FrameDecoder;
  private readonly receiver: MessageReceiver;
  private readonly sender: MessageSender;
  private readonly autoPong: boolean;
  private readonly deflate: PerMessageCodec | null;

  private closeSent: { code: number; reason: string } | null = null;
  private closeReceived: { code: number; reason: string } | null = null;
  private failure: WebSocketError | null = null;
  /** The transport closes (this way) once the sender has drained. */
  private closeDeferred: 'close' | 'end' | 'wait' | null = null;

  constructor(options: ProtocolOptions, handler: ProtocolHandler) {
    this.role = options.role;
    this.handler = handler;
    this.autoPong = options.autoPong ?? true;
    this.deflate = options.deflate ?? null;
    this.receiver = new ProtocolReceiver(receiverOptions(options, this.deflate), this);
    this.decoder = new ProtocolDecoder(decoderOptions(options, this.deflate !== null), this.receiver);
    this.sender = new ProtocolSender(
      {
        role: options.role,
        deflater: this.deflate,
        maskKey: options.maskKey,
        alloc: options.alloc,
      },
      this,
    );
  }

  get readyState(): ReadyState {
    return this.state;
  }

  /** Bytes held inside the protocol (behind async deflate/inflate). */
  get queuedBytes(): number {
    return this.receiver.queuedBytes + this.sender.queuedBytes;
  }

  /** Bytes waiting behind an async deflate on the send side (part of bufferedAmount). */
  get sendQueuedBytes(): number {
    return this.sender.queuedBytes;
  }

  /** True while received pieces wait for an async inflate: the driver should stop reading. */
  get receivePending(): boolean {
    return this.receiver.pending;
  }

  /** Feed bytes from the transport. Never throws: violations fail the connection. */
  receive(chunk: Uint8Array): void {
    // §5.5.1: after a Close frame, nothing more is read.
    if (this.closeReceived !== null || this.failure !== null) return;
    try {
      this.decoder.push(chunk);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Send a whole message. Throws WS_ERR_NOT_OPEN unless OPEN. */
  send(data: Uint8Array, binary: boolean, compress = true): void {
    this.assertOpen();
    this.sender.sendMessage(data, binary, compress);
  }

  /** Streaming send: begin a message sent as fragments. */
  beginMessage(binary: boolean, compress = true): void {
    this.assertOpen();
    this.sender.beginMessage(binary, compress);
  }

  sendFragment(data: Uint8Array): void {
    this.assertOpen();
    this.sender.sendFragment(data);
  }

  endMessage(data?: Uint8Array): void {
    this.assertOpen();
    this.sender.endMessage(data);
  }

  /** Frame-level API: send one raw frame as given. */
  sendFrame(opcode: number, payload: Uint8Array, fin = true, rsv1 = false): void {
    this.assertOpen();
    if (opcode === Opcode.CLOSE) throw new TypeError('use close() to send a Close frame');
    this.sender.sendFrame(opcode, payload, fin, rsv1);
  }

  ping(data: Uint8Array = EMPTY): void {
    this.assertOpen();
    checkControl(data);
    this.sender.sendControl(Opcode.PING, data);
  }

  pong(data: Uint8Array = EMPTY): void {
    this.assertOpen();
    checkControl(data);
    this.sender.sendControl(Opcode.PONG, data);
  }

  /**
   * Start the closing handshake (§7.1.2). Without a code the Close frame is
   * empty (received as 1005). Validates code and reason (RangeError).
   */
  close(code?: number, reason = ''): void {
    if (this.state === CLOSED || this.closeSent) return;
    const payload = encodeClosePayload(code, reason);
    this.sendClose(payload, code ?? CloseCode.NO_STATUS, reason);
    if (this.closeReceived) this.finish();
  }

  /**
   * Fail the connection (§7.1.7): send a Close frame with the error's code if
   * none was sent yet, then close the transport. Used for protocol violations
   * detected here and by drivers for local faults (timeouts, limits).
   */
  fail(error: unknown): void {
    if (this.failure || this.state === CLOSED) return;
    const err = toWebSocketError(error);
    this.failure = err;
    this.handler.onError?.(err);
    if (!this.closeSent && err.closeCode >= 1000 && err.closeCode !== CloseCode.ABNORMAL && err.closeCode !== CloseCode.NO_STATUS) {
      // Internal details never go on the wire: a code, no reason.
      this.sendClose(encodeClosePayload(err.closeCode), err.closeCode, '');
    }
    this.state = CLOSED;
    this.closeTransport('end');
  }

  /**
   * The transport is gone (EOF or error). Returns how the connection ended.
   * Idempotent.
   */
  transportClosed(): CloseInfo {
    this.state = CLOSED;
    return this.closeInfo;
  }

  /** How the connection ended (meaningful once CLOSED). */
  get closeInfo(): CloseInfo {
    const wasClean = this.closeSent !== null && this.closeReceived !== null && this.failure === null;
    if (this.closeReceived) return { code: this.closeReceived.code, reason: this.closeReceived.reason, wasClean };
    if (this.failure && this.closeSent) return { code: this.closeSent.code, reason: '', wasClean: false };
    return { code: CloseCode.ABNORMAL, reason: '', wasClean: false };
  }

  /** The error that failed the connection, if any. */
  get error(): WebSocketError | null {
    return this.failure;
  }

  private assertOpen(): void {
    if (this.state !== OPEN) {
      throw new WebSocketError('WS_ERR_NOT_OPEN', `WebSocket is not open (readyState ${this.state})`);
    }
  }

  private sendClose(payload: Uint8Array, code: number, reason: string): void {
    this.closeSent = { code, reason };
    if (this.state === OPEN) this.state = CLOSING;
    this.sender.sendControl(Opcode.CLOSE, payload);
  }

  private finish(): void {
    this.state = CLOSED;
    // §7.1.1: the server closes TCP first; a client waits for it.
    this.closeTransport(this.role === 'server' ? 'close' : 'wait');
  }

  /**
   * Frames queued behind an async deflate (our Close among them) go out
   * before the transport closes: until the sender drains, the close waits.
   */
  private closeTransport(how: 'close' | 'end' | 'wait'): void {
    if (this.sender.pending) {
      this.closeDeferred = how;
      return;
    }
    this.handler.closeTransport(how);
  }

  /** @internal Queued async work drained (receiver or sender), or the sender failed. */
  _drained(): void {
    const how = this.closeDeferred;
    if (how !== null && !this.sender.pending) {
      this.closeDeferred = null;
      this.handler.closeTransport(how);
    }
    this.handler.onDrain?.();
  }

  /** @internal Bytes from the sender. */
  _write(chunk: Uint8Array): void {
    this.handler.write(chunk);
  }

  /** @internal An event from the receiver. */
  _event(ev: ReceiveEvent): void {
    // §5.5.1 / §1.4: nothing after a Close frame is processed. receive() drops
    // later chunks; this drops the frames that followed the Close in the same
    // chunk (Autobahn 7.1.2-7.1.4 send them back to back), which would
    // otherwise reach the application and overwrite the close code.
    if (this.closeReceived !== null || this.failure !== null) return;
    switch (ev.type) {
      case 'message':
        this.handler.onMessage?.(ev.data, ev.binary);
        return;
      case 'ping':
        // §5.5.2: answer with a Pong carrying the same data, unless closing.
        if (this.autoPong && this.state === OPEN) this.sender.sendControl(Opcode.PONG, ev.data);
        this.handler.onPing?.(ev.data);
        return;
      case 'pong':
        this.handler.onPong?.(ev.data);
        return;
      case 'close': {
        this.closeReceived = { code: ev.code, reason: ev.reason };
        if (!this.closeSent) {
          // §5.5.1: echo the status code received (an empty frame when none).
          const payload = ev.code === CloseCode.NO_STATUS ? EMPTY : encodeClosePayload(ev.code);
          this.sendClose(payload, ev.code, '');
        }
        this.handler.onCloseFrame?.(ev.code, ev.reason);
        this.finish();
        return;
      }
      default:
        this.handler.onStreamEvent?.(ev);
    }
  }
}

/** Receive-stage options with the library's defaults (shared with the stream pipeline). */
export function receiverOptions(
  o: Partial<Limits> & Pick<ProtocolOptions, 'streaming' | 'isUtf8' | 'alloc'>,
  inflater: MessageInflater | null,
): MessageReceiverOptions {
  return {
    maxMessageSize: o.maxMessageSize ?? DEFAULT_LIMITS.maxMessageSize,
    inflater,
    streaming: o.streaming ?? false,
    isUtf8: o.isUtf8,
    alloc: o.alloc,
  };
}

/** Frame-decoder options with the library's defaults (shared with the stream pipeline). */
export function decoderOptions(o: Partial<Limits> & Pick<ProtocolOptions, 'role' | 'unmask'>, allowRsv1: boolean): FrameDecoderOptions {
  return {
    role: o.role,
    maxFrameSize: o.maxFrameSize ?? DEFAULT_LIMITS.maxFrameSize,
    maxFragments: o.maxFragments ?? DEFAULT_LIMITS.maxFragments,
    allowRsv1,
    unmask: o.unmask,
  };
}

// The stages wired to the protocol through prototype methods: no closures per connection.

class ProtocolDecoder extends FrameDecoder {
  constructor(
    options: FrameDecoderOptions,
    private readonly receiver: MessageReceiver,
  ) {
    super(options);
  }
  protected override emit(piece: FramePiece): void {
    this.receiver.piece(piece);
  }
}

class ProtocolReceiver extends MessageReceiver {
  constructor(
    options: MessageReceiverOptions,
    private readonly protocol: WebSocketProtocol,
  ) {
    super(options);
  }
  protected override emit(event: ReceiveEvent): void {
    this.protocol._event(event);
  }
  protected override asyncError(err: unknown): void {
    this.protocol.fail(err);
  }
  protected override drained(): void {
    this.protocol._drained();
  }
}

class ProtocolSender extends MessageSender {
  constructor(
    options: MessageSenderOptions,
    private readonly protocol: WebSocketProtocol,
  ) {
    super(options);
  }
  override write(chunk: Uint8Array): void {
    this.protocol._write(chunk);
  }
  protected override asyncError(err: unknown): void {
    this.protocol.fail(err);
    // The queue is gone with the error: a close waiting for it goes ahead.
    this.protocol._drained();
  }
  /** A deflate that throws is a local fault: fail the connection (1011), do not throw into send(). */
  protected override deflateFailed(err: unknown): void {
    this.asyncError(err);
  }
  protected override drained(): void {
    this.protocol._drained();
  }
}

const EMPTY = new Uint8Array(0);

function checkControl(data: Uint8Array): void {
  if (data.length > 125) throw new RangeError('control frame payload must be 125 bytes or less');
}

/** Normalise anything thrown into a WebSocketError (unknown faults → 1011). */
export function toWebSocketError(err: unknown): WebSocketError {
  if (err instanceof WebSocketError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new WebSocketError('WS_ERR_INTERNAL', msg, CloseCode.INTERNAL_ERROR);
}
