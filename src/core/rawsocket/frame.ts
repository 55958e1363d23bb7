/**
 * RawSocket framing (WAMP Advanced Profile, "RawSocket Transport" →
 * "Framing"): every transport message is prefixed with four octets,
 *
 * ```
 * RRRR XTTT  LLLL LLLL  LLLL LLLL  LLLL LLLL
 * ```
 *
 * `R` reserved (zero), `TTT` the type (0 WAMP message, 1 PING, 2 PONG, 3-7
 * reserved), `L` a 24-bit big-endian payload length and `X` its 25th bit,
 * "only set when the payload length is exactly 16M octets, with the 24
 * remaining L bits cleared".
 *
 * The decoder is an explicit state machine in the manner of ws's Receiver:
 * each state returns early when short of bytes and resumes with the next
 * chunk, so input may be cut anywhere, down to single bytes. Sans-I/O: no
 * Buffer, no runtime globals.
 *
 * @module
 */
import { joinChunks } from '../bytes.js';
import { RawSocketCloseCode, RawSocketError } from './errors.js';
import { RAWSOCKET_MAX_LENGTH } from './handshake.js';

/** Transport message types (`TTT`). */
export const RawSocketFrameType = { MESSAGE: 0, PING: 1, PONG: 2 } as const;

/** A defined transport message type: 0 WAMP message, 1 PING, 2 PONG. */
export type RawSocketFrameTypeValue = (typeof RawSocketFrameType)[keyof typeof RawSocketFrameType];

/** One decoded transport message. */
export interface RawSocketFrame {
  type: RawSocketFrameTypeValue;
  /** The payload; may be a view into an input chunk (no copy when a frame sits in one chunk). */
  payload: Uint8Array;
}

/** Options of {@link RawSocketFrameDecoder}. */
export interface RawSocketFrameDecoderOptions {
  /**
   * The largest payload accepted: the limit WE announced in the handshake
   * (2^(9+L)). "If a message received during a connection exceeds the limit
   * requested, a Peer MUST fail the connection."
   */
  maxLength: number;
  /** Allocates the buffer a payload spread over several chunks is joined into (Node: Buffer.allocUnsafe). */
  alloc?: (size: number) => Uint8Array;
}

/** Receives each decoded frame, in order. */
export type RawSocketFrameSink = (frame: RawSocketFrame) => void;

const S_HEADER = 0;
const S_PAYLOAD = 1;
const S_FAILED = 2;
const EMPTY = new Uint8Array(0);
const noSink: RawSocketFrameSink = () => {};

/**
 * Bytes in, {@link RawSocketFrame}s out. Also a WHATWG Transformer, so
 * `new TransformStream(decoder)` runs it as a stream stage.
 *
 * @example
 * ```ts
 * const frames: { type: number; payload: Uint8Array }[] = [];
 * const decoder = new RawSocketFrameDecoder({ maxLength: 1024 }, (f) => frames.push(f));
 * const bytes = encodeFrame(RawSocketFrameType.PING, new Uint8Array([1, 2, 3]));
 * decoder.push(bytes.subarray(0, 2)); // short input: nothing yet
 * decoder.push(bytes.subarray(2));
 * console.log(frames[0]?.type, frames[0]?.payload); // 1 Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export class RawSocketFrameDecoder implements Transformer<Uint8Array, RawSocketFrame> {
  private readonly maxLength: number;
  private readonly alloc: ((size: number) => Uint8Array) | undefined;
  private state = S_HEADER;
  /** Header octets when a header straddles chunks. */
  private readonly hdr = new Uint8Array(4);
  private hdrLen = 0;
  // current frame
  private type: RawSocketFrameTypeValue = 0;
  private length = 0;
  private received = 0;
  private chunks: Uint8Array[] = [];

  /** Where frames go when driven through {@link push}. */
  sink: RawSocketFrameSink;

  constructor(options: RawSocketFrameDecoderOptions, sink: RawSocketFrameSink = noSink) {
    if (!(options.maxLength >= 0) || options.maxLength > RAWSOCKET_MAX_LENGTH) {
      throw new RangeError(`maxLength must be 0..${RAWSOCKET_MAX_LENGTH}, got ${options.maxLength}`);
    }
    this.maxLength = options.maxLength;
    this.alloc = options.alloc;
    this.sink = sink;
  }

  /** `true` between frames (nothing partial buffered) and not failed. */
  get idle(): boolean {
    return this.state === S_HEADER && this.hdrLen === 0;
  }

  /** WHATWG Transformer: lets `new TransformStream(decoder)` run this stage. */
  transform(chunk: Uint8Array, controller: TransformStreamDefaultController<RawSocketFrame>): void {
    this.sink = (f) => controller.enqueue(f);
    this.push(chunk);
  }

  /** WHATWG Transformer: the input ended. */
  flush(): void {
    this.end();
  }

  /** The input ended: throws RAWSOCKET_ERR_CONNECTION_LOST if it ended inside a frame. */
  end(): void {
    if (this.state === S_FAILED) return;
    if (!this.idle) this.fail(new RawSocketError('RAWSOCKET_ERR_CONNECTION_LOST', 'input ended inside a frame', RawSocketCloseCode.ABNORMAL));
  }

  /**
   * Feed bytes; frames go to {@link sink} synchronously. Throws a
   * {@link RawSocketError} on a protocol violation (frames before the bad
   * header were delivered); the decoder then ignores all further input.
   * Chunks are kept by reference until their frame is complete: do not reuse them.
   */
  push(chunk: Uint8Array): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.state === S_HEADER) {
        if (this.hdrLen === 0 && end - pos >= 4) {
          this.header(chunk[pos] as number, chunk[pos + 1] as number, chunk[pos + 2] as number, chunk[pos + 3] as number);
          pos += 4;
        } else {
          while (this.hdrLen < 4 && pos < end) this.hdr[this.hdrLen++] = chunk[pos++] as number;
          if (this.hdrLen < 4) return; // need more
          this.hdrLen = 0;
          const h = this.hdr;
          this.header(h[0] as number, h[1] as number, h[2] as number, h[3] as number);
        }
        continue;
      }
      if (this.state === S_PAYLOAD) {
        const want = this.length - this.received;
        if (this.received === 0 && end - pos >= want) {
          // The whole payload is in this chunk: a view, no copy.
          this.emit(chunk.subarray(pos, pos + want));
          pos += want;
          continue;
        }
        const take = want < end - pos ? want : end - pos;
        this.chunks.push(chunk.subarray(pos, pos + take));
        this.received += take;
        pos += take;
        if (this.received === this.length) {
          const parts = this.chunks;
          this.chunks = [];
          this.emit(joinChunks(parts, this.length, this.alloc));
        }
        continue;
      }
      return; // S_FAILED: ignore the rest
    }
  }

  private header(b0: number, b1: number, b2: number, b3: number): void {
    // "The four bits RRRR are reserved for future use and MUST be all zeros for now."
    if (b0 & 0xf0) this.fail(new RawSocketError('RAWSOCKET_ERR_FRAME_RESERVED_BITS', `reserved bits set in frame header (0x${b0.toString(16)})`));
    const type = b0 & 0x07;
    // "3-7: reserved"
    if (type > 2) this.fail(new RawSocketError('RAWSOCKET_ERR_INVALID_FRAME_TYPE', `reserved frame type ${type}`));
    let length = (b1 << 16) | (b2 << 8) | b3;
    if (b0 & 0x08) {
      // X: "only set when the payload length is exactly 16M octets, with the 24 remaining L bits cleared"
      if (length !== 0) this.fail(new RawSocketError('RAWSOCKET_ERR_INVALID_LENGTH', 'length bit X set with non-zero L bits'));
      length = RAWSOCKET_MAX_LENGTH;
    }
    if (length > this.maxLength) {
      this.fail(new RawSocketError('RAWSOCKET_ERR_MESSAGE_TOO_BIG', `frame of ${length} octets exceeds our limit of ${this.maxLength}`, RawSocketCloseCode.MESSAGE_TOO_BIG));
    }
    this.type = type as RawSocketFrameTypeValue;
    this.length = length;
    this.received = 0;
    if (length === 0) this.emit(EMPTY);
    else this.state = S_PAYLOAD;
  }

  private emit(payload: Uint8Array): void {
    this.state = S_HEADER;
    this.received = 0;
    this.sink({ type: this.type, payload });
  }

  private fail(err: RawSocketError): never {
    this.state = S_FAILED;
    this.chunks = [];
    throw err;
  }
}

/**
 * The 4-octet prefix for a payload of `length` octets (0 … 2^24).
 */
export function encodeFrameHeader(type: RawSocketFrameTypeValue, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > RAWSOCKET_MAX_LENGTH) {
    throw new RangeError(`RawSocket payload length must be 0..${RAWSOCKET_MAX_LENGTH}, got ${length}`);
  }
  const x = length === RAWSOCKET_MAX_LENGTH ? 0x08 : 0;
  return Uint8Array.of(x | type, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
}

/** Prefix and payload in one new array (copies the payload; for large payloads write {@link encodeFrameHeader} and the payload separately). */
export function encodeFrame(type: RawSocketFrameTypeValue, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  out.set(encodeFrameHeader(type, payload.length), 0);
  out.set(payload, 4);
  return out;
}
