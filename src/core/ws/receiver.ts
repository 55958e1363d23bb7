/**
 * Message receiver: {@link FramePiece}s in, {@link ReceiveEvent}s out.
 *
 * Assembles fragmented messages (RFC 6455 §5.4), inflates permessage-deflate
 * messages (RFC 7692 §7.2.2), validates text as UTF-8 piece by piece so that
 * an invalid byte fails the connection when it arrives, not at message end
 * (§8.1), and enforces the message-size limit on the inflated size.
 *
 * Inflation may be asynchronous (a backend on a thread pool). While a result
 * is pending, later pieces wait in an explicit FIFO: messages and control
 * frames are never reordered by promise timing. `queuedBytes` lets the driver
 * stop reading while the queue is long.
 */
import { Opcode } from './constants.js';
import { joinChunks } from '../bytes.js';
import { CloseCode, WebSocketError } from './errors.js';
import { parseClosePayload } from './close.js';
import { Utf8Validator, isValidUtf8 } from './utf8.js';
import type { FramePiece, ReceiveEvent } from './types.js';

/** The receive half of permessage-deflate, as the receiver needs it. */
export interface MessageInflater {
  /**
   * Inflate one piece of a compressed message. `fin` ends the message.
   * `receivedSoFar` is the inflated size of the message before this piece,
   * so the backend can bound its output (decompression bombs → 1009).
   */
  inflate(piece: Uint8Array, fin: boolean, receivedSoFar: number): Uint8Array[] | Promise<Uint8Array[]>;
}

export interface MessageReceiverOptions {
  /** Largest message after inflation, in bytes (1009 beyond). */
  maxMessageSize: number;
  /** Set when permessage-deflate was negotiated. */
  inflater?: MessageInflater | null;
  /** Deliver messages as message-start / message-data / message-end events. */
  streaming?: boolean;
  /** Whole-buffer UTF-8 check; adapters may pass a native one (node:buffer isUtf8). */
  isUtf8?: ((bytes: Uint8Array) => boolean) | undefined;
  /** Allocator for reassembled messages (Node: Buffer.allocUnsafe, no zero-fill). */
  alloc?: ((size: number) => Uint8Array) | undefined;
}

export type ReceiveSink = (event: ReceiveEvent) => void;


function noop(): void {}

function invalidUtf8(): WebSocketError {
  return new WebSocketError('WS_ERR_INVALID_UTF8', 'invalid UTF-8 in text message', CloseCode.INVALID_PAYLOAD);
}

export class MessageReceiver implements Transformer<FramePiece, ReceiveEvent> {
  private readonly maxMessageSize: number;
  private inflater: MessageInflater | null;
  private readonly streaming: boolean;
  private readonly isUtf8: (bytes: Uint8Array) => boolean;
  private readonly alloc: ((size: number) => Uint8Array) | undefined;

  // message in progress
  private binary = false;
  private compressed = false;
  private size = 0;
  private chunks: Uint8Array[] | null = null;
  /**
   * A message in one frame whose payload arrives in several pieces: its
   * buffer, allocated at the first piece (the frame header gives the size)
   * and filled as pieces come, while they are still in cache; the input
   * chunks are then not held until the end (1 MiB messages, bench:ws).
   */
  private target: Uint8Array | null = null;
  private utf8: Utf8Validator | null = null;

  // async inflation
  private busy = false;
  private queue: FramePiece[] | null = null;
  private queued = 0;
  private failed = false;

  /** Where events go. */
  sink: ReceiveSink;
  /** Errors from asynchronous inflation (synchronous ones are thrown). */
  onAsyncError: (err: unknown) => void = noop;
  /** Called when queued pieces have been processed after an async step. */
  onDrain: () => void = noop;

  constructor(options: MessageReceiverOptions, sink: ReceiveSink = noop) {
    this.maxMessageSize = options.maxMessageSize;
    this.inflater = options.inflater ?? null;
    this.streaming = options.streaming ?? false;
    this.isUtf8 = options.isUtf8 ?? isValidUtf8;
    this.alloc = options.alloc;
    this.sink = sink;
  }

  /** Hand an event downstream; subclasses may override (no closure per instance). */
  protected emit(event: ReceiveEvent): void {
    this.sink(event);
  }

  protected asyncError(err: unknown): void {
    this.onAsyncError(err);
  }

  protected drained(): void {
    this.onDrain();
  }

  setInflater(inflater: MessageInflater | null): void {
    this.inflater = inflater;
  }

  /** Bytes of pieces waiting behind an asynchronous inflation. */
  get queuedBytes(): number {
    return this.queued;
  }

  /** True while an asynchronous step is pending. */
  get pending(): boolean {
    return this.busy;
  }

  transform(piece: FramePiece, controller: TransformStreamDefaultController<ReceiveEvent>): void | Promise<void> {
    this.sink = (e) => controller.enqueue(e);
    this.piece(piece);
    if (this.busy) {
      // Hold the stream until the queue is worked off: backpressure for the stream form.
      return new Promise<void>((resolve, reject) => {
        this.onDrain = resolve;
        this.onAsyncError = reject;
      });
    }
  }

  /** Process one piece. Throws a WebSocketError on a violation. */
  piece(p: FramePiece): void {
    if (this.failed) return;
    if (this.busy) {
      (this.queue ??= []).push(p);
      this.queued += p.payload.length;
      return;
    }
    try {
      this.process(p);
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  private process(p: FramePiece): void {
    const op = p.opcode;
    if (op >= 8) {
      this.control(op, p.payload);
      return;
    }
    const fin = p.fin && p.last;
    if (p.first && op !== Opcode.CONTINUATION) {
      // Fast path: a whole uncompressed message in one piece — no copy, one check.
      if (fin && !p.rsv1) {
        const data = p.payload;
        if (data.length > this.maxMessageSize) throw tooBig(this.maxMessageSize);
        if (op === Opcode.TEXT && !this.isUtf8(data)) throw invalidUtf8();
        if (this.streaming) {
          this.emit({ type: 'message-start', binary: op === Opcode.BINARY });
          if (data.length) this.emit({ type: 'message-data', data });
          this.emit({ type: 'message-end' });
        } else {
          this.emit({ type: 'message', binary: op === Opcode.BINARY, data });
        }
        return;
      }
      this.binary = op === Opcode.BINARY;
      this.compressed = p.rsv1;
      this.size = 0;
      this.chunks = null;
      this.target =
        p.fin && !p.rsv1 && !this.streaming && p.length <= this.maxMessageSize && p.length >= PREALLOCATE_FROM
          ? this.alloc
            ? this.alloc(p.length)
            : new Uint8Array(p.length)
          : null;
      if (!this.binary) {
        if (this.utf8) this.utf8.reset();
        else this.utf8 = new Utf8Validator();
      }
      if (this.streaming) this.emit({ type: 'message-start', binary: this.binary });
    }
    if (this.compressed) {
      if (p.payload.length === 0 && !fin) return;
      const inflater = this.inflater;
      if (!inflater) throw new WebSocketError('WS_ERR_INTERNAL', 'compressed message without an inflater', CloseCode.INTERNAL_ERROR);
      const out = inflater.inflate(p.payload, fin, this.size);
      if (Array.isArray(out)) {
        for (let i = 0; i < out.length; i++) this.data(out[i] as Uint8Array);
        if (fin) this.end();
      } else {
        this.busy = true;
        out.then(
          (chunks) => {
            this.busy = false;
            try {
              for (let i = 0; i < chunks.length; i++) this.data(chunks[i] as Uint8Array);
              if (fin) this.end();
            } catch (err) {
              this.fail();
              this.asyncError(err);
              return;
            }
            this.drain();
          },
          (err: unknown) => {
            this.busy = false;
            this.fail();
            this.asyncError(err);
          },
        );
      }
      return;
    }
    this.data(p.payload);
    if (fin) this.end();
  }

  private drain(): void {
    const q = this.queue;
    while (!this.busy && q !== null && q.length > 0 && !this.failed) {
      const p = q.shift() as FramePiece;
      this.queued -= p.payload.length;
      try {
        this.process(p);
      } catch (err) {
        this.fail();
        this.asyncError(err);
        return;
      }
    }
    if (!this.busy && !this.failed) this.drained();
  }

  /** Failed: nothing queued will be processed, so nothing counts as queued. */
  private fail(): void {
    this.failed = true;
    this.queue = null;
    this.queued = 0;
    this.chunks = null;
    this.target = null;
  }

  private data(chunk: Uint8Array): void {
    const len = chunk.length;
    if (len === 0) return;
    this.size += len;
    if (this.size > this.maxMessageSize) throw tooBig(this.maxMessageSize);
    // §8.1: fail as soon as the bytes so far cannot be valid UTF-8.
    if (this.utf8 && !this.binary && !this.utf8.write(chunk)) throw invalidUtf8();
    if (this.streaming) this.emit({ type: 'message-data', data: chunk });
    else if (this.target) this.target.set(chunk, this.size - len);
    else (this.chunks ??= []).push(chunk);
  }

  private end(): void {
    if (!this.binary && this.utf8 && !this.utf8.end()) throw invalidUtf8();
    if (this.streaming) {
      this.emit({ type: 'message-end' });
      return;
    }
    const target = this.target;
    if (target) {
      this.target = null;
      this.emit({ type: 'message', binary: this.binary, data: target });
      return;
    }
    const chunks = this.chunks ?? [];
    this.chunks = null;
    this.emit({ type: 'message', binary: this.binary, data: concat(chunks, this.size, this.alloc) });
  }

  private control(op: number, payload: Uint8Array): void {
    if (op === Opcode.CLOSE) {
      const { code, reason } = parseClosePayload(payload);
      this.emit({ type: 'close', code, reason });
    } else if (op === Opcode.PING) {
      this.emit({ type: 'ping', data: payload });
    } else {
      this.emit({ type: 'pong', data: payload });
    }
  }
}

/** Single-frame messages at least this large are assembled in place as their pieces arrive. */
const PREALLOCATE_FROM = 64 * 1024;

function tooBig(max: number): WebSocketError {
  return new WebSocketError('WS_ERR_MESSAGE_TOO_BIG', `message exceeds maxMessageSize ${max}`, CloseCode.MESSAGE_TOO_BIG);
}

/** Join chunks into one buffer (no copy for a single chunk). */
export const concat = joinChunks;
