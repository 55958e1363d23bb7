/**
 * Message sender: messages, fragments and control frames in, bytes out.
 *
 * With permessage-deflate the deflater may answer asynchronously. Every
 * operation issued meanwhile (data, fragments, pings, close) waits in an
 * explicit FIFO, so frames leave in the order they were sent, never in the
 * order promises happen to settle (DESIGN hard rule 4).
 */
import { Opcode } from './constants.js';
import { encodeFrame, type Alloc } from './encoder.js';
import { encodeClosePayload } from './close.js';
import type { MaskKeySource } from './types.js';

/** The send half of permessage-deflate, as the sender needs it. */
export interface MessageDeflater {
  /** Whether a message of `size` bytes is worth compressing (threshold). */
  shouldCompress(size: number): boolean;
  /** Compress a piece of a message; `fin` ends it (sync flush, tail stripped, RFC 7692 §7.2.1). */
  deflate(data: Uint8Array, fin: boolean): Uint8Array | Promise<Uint8Array>;
}

export interface MessageSenderOptions {
  role: 'client' | 'server';
  /** Fills 4 unpredictable bytes per frame; required for clients (RFC 6455 §5.3). */
  maskKey?: MaskKeySource;
  deflater?: MessageDeflater | null;
  /** Output buffer allocator (Node passes pooled Buffers). */
  alloc?: Alloc;
}

/** What the sender accepts as a stream stage (`new TransformStream(sender)`). */
export type OutgoingMessage =
  | { type: 'message'; data: Uint8Array; binary: boolean; compress?: boolean }
  | { type: 'ping' | 'pong'; data: Uint8Array }
  | { type: 'close'; code?: number; reason?: string };

/** One queued operation (kept while an async deflate is pending). */
interface Op {
  opcode: number;
  data: Uint8Array;
  fin: boolean;
  /** Deflate this frame's data (a message, or a fragment of a compressed message). */
  deflate: boolean;
  /** RSV1 on this frame (first frame of a compressed message). */
  rsv1: boolean;
}

export class MessageSender implements Transformer<OutgoingMessage, Uint8Array> {
  private readonly mask: MaskKeySource | null;
  private readonly key: Uint8Array | null;
  private readonly alloc: Alloc | undefined;
  private deflater: MessageDeflater | null;

  private busy = false;
  /** Running queued operations (after an async deflate). */
  private draining = false;
  private queue: Op[] | null = null;
  private queued = 0;

  // streaming message state (begin / fragment / end)
  private streamOpen = false;
  private streamFirst = false;
  private streamOpcode = 0;
  private streamCompress = false;

  /** Where encoded bytes go. */
  sink: (chunk: Uint8Array) => void;
  /** Errors from asynchronous deflation. */
  onAsyncError: (err: unknown) => void = noop;
  /** Called when the queue has been drained after async work. */
  onDrain: () => void = noop;

  constructor(options: MessageSenderOptions, sink: (chunk: Uint8Array) => void = noop) {
    if (options.role === 'client' && !options.maskKey) throw new TypeError('a client sender needs a maskKey source');
    this.mask = options.role === 'client' ? (options.maskKey as MaskKeySource) : null;
    this.deflater = options.deflater ?? null;
    this.key = this.mask ? new Uint8Array(4) : null;
    this.alloc = options.alloc;
    this.sink = sink;
  }

  /**
   * WHATWG Transformer: `new TransformStream(sender)` turns messages into
   * bytes. While an async deflate is pending the stream waits (backpressure).
   */
  transform(item: OutgoingMessage, controller: TransformStreamDefaultController<Uint8Array>): void | Promise<void> {
    this.sink = (chunk) => controller.enqueue(chunk);
    if (item.type === 'message') this.sendMessage(item.data, item.binary, item.compress ?? true);
    else if (item.type === 'close') this.sendControl(Opcode.CLOSE, encodeClosePayload(item.code, item.reason ?? ''));
    else this.sendControl(item.type === 'ping' ? Opcode.PING : Opcode.PONG, item.data);
    if (!this.busy) return undefined;
    return new Promise<void>((resolve, reject) => {
      this.onDrain = resolve;
      this.onAsyncError = reject;
    });
  }

  /** Hand encoded bytes downstream; subclasses may override (no closure per instance). */
  write(chunk: Uint8Array): void {
    this.sink(chunk);
  }

  protected asyncError(err: unknown): void {
    this.onAsyncError(err);
  }

  /**
   * The deflater threw. Called for a message being sent now, the error goes
   * to the caller (a TransformStream errors); for one that waited behind an
   * async deflate, to {@link asyncError} (a throw there would be lost in a
   * promise callback). Subclasses may fail the connection instead.
   */
  protected deflateFailed(err: unknown): void {
    if (this.draining) this.asyncError(err);
    else throw err;
  }

  protected drained(): void {
    this.onDrain();
  }

  setDeflater(deflater: MessageDeflater | null): void {
    this.deflater = deflater;
  }

  /** Bytes waiting behind an asynchronous deflate (not yet handed to the sink). */
  get queuedBytes(): number {
    return this.queued;
  }

  /** True while an asynchronous deflate is pending. */
  get pending(): boolean {
    return this.busy;
  }

  /** True while a streamed message is open (between begin and end). */
  get inMessage(): boolean {
    return this.streamOpen;
  }

  /**
   * Send a whole message. `compress` (default true) lets the deflater decide
   * by size; false forces it uncompressed.
   */
  sendMessage(data: Uint8Array, binary: boolean, compress = true): void {
    if (this.streamOpen) throw new Error('a streamed message is open: end it before sending another message');
    const deflate = compress && this.deflater !== null && this.deflater.shouldCompress(data.length);
    this.op({ opcode: binary ? Opcode.BINARY : Opcode.TEXT, data, fin: true, deflate, rsv1: deflate });
  }

  /** Send a control frame (ping, pong, close). Allowed between fragments (§5.4). */
  sendControl(opcode: number, payload: Uint8Array): void {
    this.op({ opcode, data: payload, fin: true, deflate: false, rsv1: false });
  }

  /**
   * Send one raw frame exactly as given (frame-level API). The caller owns
   * protocol correctness (fragmentation order, RSV1 meaning).
   */
  sendFrame(opcode: number, payload: Uint8Array, fin: boolean, rsv1 = false): void {
    this.op({ opcode, data: payload, fin, deflate: false, rsv1 });
  }

  /** Begin a message sent as fragments (Autobahn's streaming API). */
  beginMessage(binary: boolean, compress = true): void {
    if (this.streamOpen) throw new Error('a streamed message is already open');
    this.streamOpen = true;
    this.streamFirst = true;
    this.streamOpcode = binary ? Opcode.BINARY : Opcode.TEXT;
    this.streamCompress = compress && this.deflater !== null;
  }

  /** Send a fragment of the open message as one frame. */
  sendFragment(data: Uint8Array): void {
    if (!this.streamOpen) throw new Error('no streamed message is open');
    this.fragment(data, false);
  }

  /** End the open message (a final frame, possibly with data). */
  endMessage(data: Uint8Array = EMPTY): void {
    if (!this.streamOpen) throw new Error('no streamed message is open');
    this.fragment(data, true);
    this.streamOpen = false;
  }

  private fragment(data: Uint8Array, fin: boolean): void {
    const opcode = this.streamFirst ? this.streamOpcode : Opcode.CONTINUATION;
    const c = this.streamCompress;
    this.op({ opcode, data, fin, deflate: c, rsv1: c && this.streamFirst });
    this.streamFirst = false;
  }

  private op(op: Op): void {
    if (this.busy) {
      (this.queue ??= []).push(op);
      this.queued += op.data.length;
      return;
    }
    this.run(op);
  }

  private run(op: Op): void {
    if (!op.deflate) {
      this.frame(op.opcode, op.fin, op.rsv1, op.data);
      return;
    }
    let out: Uint8Array | Promise<Uint8Array>;
    try {
      out = (this.deflater as MessageDeflater).deflate(op.data, op.fin);
    } catch (err) {
      // Nothing queued behind a failed deflate can be sent either.
      this.queue = null;
      this.queued = 0;
      this.deflateFailed(err);
      return;
    }
    if (out instanceof Uint8Array) {
      this.frame(op.opcode, op.fin, op.rsv1, out);
      return;
    }
    this.busy = true;
    out.then(
      (bytes) => {
        this.busy = false;
        this.frame(op.opcode, op.fin, op.rsv1, bytes);
        this.drain();
      },
      (err: unknown) => {
        this.busy = false;
        this.queue = null;
        this.queued = 0;
        this.asyncError(err);
      },
    );
  }

  private drain(): void {
    this.draining = true;
    try {
      for (let q = this.queue; !this.busy && q !== null && q.length > 0; q = this.queue) {
        const op = q.shift() as Op;
        this.queued -= op.data.length;
        this.run(op);
      }
    } finally {
      this.draining = false;
    }
    if (!this.busy) this.drained();
  }

  private frame(opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array): void {
    const key = this.key;
    if (key !== null) (this.mask as MaskKeySource)(key);
    encodeFrame(this, opcode, fin, rsv1, payload, key, this.alloc);
  }
}

const EMPTY = new Uint8Array(0);

function noop(): void {}
