/**
 * Frame decoder: bytes in, {@link FramePiece}s out (RFC 6455 §5.2).
 *
 * An explicit state machine in the manner of ws's Receiver: each state returns
 * early when short of bytes and resumes on the next chunk, so input may be cut
 * anywhere, down to single bytes. Data-frame payload is never buffered here: it
 * leaves as pieces (subarrays of the input, unmasked in place) as it arrives,
 * which lets the layer above validate UTF-8 on the first invalid byte and
 * stream large messages. Control frames are collected whole (≤125 bytes).
 *
 * Ownership: input chunks are unmasked IN PLACE. The caller hands them over
 * (as a socket's receive buffers are) and must not reuse them.
 */
import { Opcode, MAX_CONTROL_PAYLOAD, RSV1, RSV2, RSV3 } from './constants.js';
import { WebSocketError, CloseCode, protocolError } from './errors.js';
import { applyMask } from './mask.js';
import type { FramePiece } from './types.js';

export interface FrameDecoderOptions {
  /** `server` expects masked frames from clients, `client` expects unmasked ones (§5.1). */
  role: 'client' | 'server';
  /** Largest frame payload accepted; larger fails with 1009. */
  maxFrameSize: number;
  /** Most frames in one fragmented message; more fails with 1009. */
  maxFragments: number;
  /** RSV1 is allowed on the first frame of a data message (permessage-deflate negotiated, RFC 7692 §6). */
  allowRsv1: boolean;
  /** A faster unmask for large payloads (same contract as applyMask with start 0), e.g. native. */
  unmask?: ((data: Uint8Array, key: Uint8Array, phase: number) => void) | undefined;
}

const S_HEADER = 0;
const S_PAYLOAD = 1;
const S_CONTROL = 2;
const S_FAILED = 3;

/** Callback that receives each piece, in order. */
export type PieceSink = (piece: FramePiece) => void;

const SCRATCH_KEY = new Uint8Array(4);

export class FrameDecoder implements Transformer<Uint8Array, FramePiece> {
  private readonly expectMask: boolean;
  private readonly maxFrameSize: number;
  private readonly maxFragments: number;
  private allowRsv1: boolean;
  private readonly unmask: (data: Uint8Array, key: Uint8Array, phase: number) => void;

  private state = S_HEADER;
  /** Header bytes when a header straddles chunks (at most 14). */
  private hdr: Uint8Array | null = null;
  private hdrLen = 0;
  // current frame
  private opcode = 0;
  private fin = false;
  private rsv1 = false;
  private length = 0;
  private received = 0;
  // The masking key as four small integers, not a Uint8Array per connection
  // (with its ArrayBuffer ~180 bytes per idle connection); copied into a
  // shared scratch array right before each (synchronous) unmask.
  private mk0 = 0;
  private mk1 = 0;
  private mk2 = 0;
  private mk3 = 0;
  private masked = false;
  // control frame payload being collected
  private control: Uint8Array | null = null;
  // fragmentation (§5.4)
  private inMessage = false;
  private fragments = 0;

  /** Where pieces go when driven through {@link push}. */
  sink: PieceSink;

  constructor(options: FrameDecoderOptions, sink: PieceSink = noSink) {
    this.expectMask = options.role === 'server';
    this.maxFrameSize = options.maxFrameSize;
    this.maxFragments = options.maxFragments;
    this.allowRsv1 = options.allowRsv1;
    this.unmask = options.unmask ?? applyMask;
    this.sink = sink;
  }

  /** The current frame's masking key, in the shared scratch array (valid until the next call). */
  private key(): Uint8Array {
    const k = SCRATCH_KEY;
    k[0] = this.mk0;
    k[1] = this.mk1;
    k[2] = this.mk2;
    k[3] = this.mk3;
    return k;
  }

  /** Hand a piece downstream; subclasses may override (no closure per instance). */
  protected emit(piece: FramePiece): void {
    this.sink(piece);
  }

  /** Enable RSV1 after permessage-deflate was negotiated. */
  setAllowRsv1(allow: boolean): void {
    this.allowRsv1 = allow;
  }

  /** WHATWG Transformer: lets `new TransformStream(decoder)` run this stage. */
  transform(chunk: Uint8Array, controller: TransformStreamDefaultController<FramePiece>): void {
    this.sink = (p) => controller.enqueue(p);
    this.push(chunk);
  }

  flush(controller: TransformStreamDefaultController<FramePiece>): void {
    try {
      this.end();
    } catch (err) {
      controller.error(err);
    }
  }

  /** The input ended: throws if it ended inside a frame or a fragmented message. */
  end(): void {
    if (this.state === S_FAILED) return;
    if (this.state !== S_HEADER || this.hdrLen !== 0) {
      throw new WebSocketError('WS_ERR_CONNECTION_LOST', 'input ended inside a frame', CloseCode.ABNORMAL);
    }
    if (this.inMessage) {
      throw new WebSocketError('WS_ERR_CONNECTION_LOST', 'input ended inside a fragmented message', CloseCode.ABNORMAL);
    }
  }

  /**
   * Feed bytes. Pieces go to {@link sink} synchronously. Throws a
   * {@link WebSocketError} on a protocol violation; the decoder then refuses
   * all further input.
   */
  push(chunk: Uint8Array): void {
    if (this.state === S_FAILED) return;
    try {
      this.run(chunk);
    } catch (err) {
      this.state = S_FAILED;
      throw err;
    }
  }

  private run(buf: Uint8Array): void {
    let pos = 0;
    const end = buf.length;
    while (pos < end) {
      if (this.state === S_HEADER) {
        pos = this.readHeader(buf, pos);
        if (pos < 0) return; // need more bytes
        continue;
      }
      if (this.state === S_PAYLOAD) {
        const want = this.length - this.received;
        const take = want < end - pos ? want : end - pos;
        const payload = buf.subarray(pos, pos + take);
        if (this.masked && take > 0) this.unmask(payload, this.key(), this.received & 3);
        const first = this.received === 0;
        this.received += take;
        pos += take;
        const last = this.received === this.length;
        if (last) this.state = S_HEADER;
        this.emit({ opcode: this.opcode, fin: this.fin, rsv1: this.rsv1, payload, first, last, length: this.length });
        continue;
      }
      if (this.state === S_CONTROL) {
        const ctl = this.control as Uint8Array;
        const want = this.length - this.received;
        const take = want < end - pos ? want : end - pos;
        ctl.set(buf.subarray(pos, pos + take), this.received);
        this.received += take;
        pos += take;
        if (this.received === this.length) {
          if (this.masked) applyMask(ctl, this.key(), 0);
          this.state = S_HEADER;
          this.control = null;
          this.emit({ opcode: this.opcode, fin: true, rsv1: false, payload: ctl, first: true, last: true, length: this.length });
        }
        continue;
      }
      return;
    }
  }

  /**
   * Parse a header starting at `pos`. Returns the position after it, or -1
   * when the header is incomplete (its bytes are kept in `hdr`).
   */
  private readHeader(buf: Uint8Array, pos: number): number {
    if (this.hdrLen > 0) {
      // Continue a header that straddles chunks: gather it in `hdr`.
      const hdr = this.hdr as Uint8Array;
      let p = pos;
      for (;;) {
        const size = headerSize(hdr, this.hdrLen);
        if (this.hdrLen >= size) break;
        if (p >= buf.length) return -1;
        const take = Math.min(size - this.hdrLen, buf.length - p);
        hdr.set(buf.subarray(p, p + take), this.hdrLen);
        this.hdrLen += take;
        p += take;
      }
      this.hdrLen = 0;
      this.parseHeader(hdr, 0);
      return p;
    }
    const avail = buf.length - pos;
    const size = avail >= 2 ? headerSize(buf.subarray(pos, pos + 2), 2) : 2;
    if (avail < size) {
      // Check the first byte now: a bad opcode fails before more bytes come.
      this.checkFirstByte(buf[pos] as number);
      (this.hdr ??= new Uint8Array(14)).set(buf.subarray(pos), 0);
      this.hdrLen = avail;
      return -1;
    }
    this.parseHeader(buf, pos);
    return pos + size;
  }

  private checkFirstByte(b0: number): void {
    if ((b0 & (RSV2 | RSV3)) !== 0) {
      throw protocolError('WS_ERR_UNEXPECTED_RSV', 'RSV2 and RSV3 must be clear');
    }
    const op = b0 & 0x0f;
    if (!(op <= 2 || (op >= 8 && op <= 10))) {
      throw protocolError('WS_ERR_INVALID_OPCODE', `invalid opcode ${op}`);
    }
  }

  private parseHeader(h: Uint8Array, at: number): void {
    const b0 = h[at] as number;
    const b1 = h[at + 1] as number;
    this.checkFirstByte(b0);
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & RSV1) !== 0;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    let len = b1 & 0x7f;
    let off = at + 2;

    // §5.1: "a server MUST close the connection upon receiving a frame that is
    // not masked"; "a client MUST close a connection if it detects a masked frame".
    if (masked !== this.expectMask) {
      throw this.expectMask
        ? protocolError('WS_ERR_EXPECTED_MASK', 'MASK must be set')
        : protocolError('WS_ERR_UNEXPECTED_MASK', 'MASK must be clear');
    }

    if (opcode >= 8) {
      // §5.5: control frames MUST NOT be fragmented and have ≤125 bytes of payload.
      if (!fin) throw protocolError('WS_ERR_FRAGMENTED_CONTROL_FRAME', 'FIN must be set on control frames');
      if (len > MAX_CONTROL_PAYLOAD) {
        throw protocolError('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', `control frame payload of ${len} bytes`);
      }
      // RFC 7692 §6.1: RSV1 is only for the first frame of a data message.
      if (rsv1) throw protocolError('WS_ERR_UNEXPECTED_RSV', 'RSV1 must be clear on control frames');
    } else {
      if (opcode === Opcode.CONTINUATION) {
        // §5.4: a continuation with no message in progress.
        if (!this.inMessage) throw protocolError('WS_ERR_INVALID_CONTINUATION', 'continuation frame without a message in progress');
        if (rsv1) throw protocolError('WS_ERR_UNEXPECTED_RSV', 'RSV1 must be clear on continuation frames');
        if (++this.fragments > this.maxFragments) {
          throw new WebSocketError('WS_ERR_TOO_MANY_FRAGMENTS', `more than ${this.maxFragments} fragments`, CloseCode.MESSAGE_TOO_BIG);
        }
      } else {
        if (this.inMessage) throw protocolError('WS_ERR_EXPECTED_CONTINUATION', 'new data frame while a fragmented message is in progress');
        if (rsv1 && !this.allowRsv1) throw protocolError('WS_ERR_UNEXPECTED_RSV', 'RSV1 must be clear');
        this.fragments = 1;
      }
      this.inMessage = !fin;
    }

    if (len === 126) {
      len = ((h[off] as number) << 8) | (h[off + 1] as number);
      off += 2;
    } else if (len === 127) {
      const hi = ((h[off] as number) << 24 | (h[off + 1] as number) << 16 | (h[off + 2] as number) << 8 | (h[off + 3] as number)) >>> 0;
      const lo = ((h[off + 4] as number) << 24 | (h[off + 5] as number) << 16 | (h[off + 6] as number) << 8 | (h[off + 7] as number)) >>> 0;
      off += 8;
      // §5.2: "the most significant bit MUST be 0".
      if (hi & 0x80000000) throw protocolError('WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 'payload length MSB must be 0');
      if (hi > 0x1fffff) {
        throw new WebSocketError('WS_ERR_FRAME_TOO_BIG', 'frame payload length beyond 2^53', CloseCode.MESSAGE_TOO_BIG);
      }
      len = hi * 0x100000000 + lo;
    }
    if (len > this.maxFrameSize) {
      throw new WebSocketError('WS_ERR_FRAME_TOO_BIG', `frame payload of ${len} bytes exceeds maxFrameSize ${this.maxFrameSize}`, CloseCode.MESSAGE_TOO_BIG);
    }
    if (masked) {
      this.mk0 = h[off] as number;
      this.mk1 = h[off + 1] as number;
      this.mk2 = h[off + 2] as number;
      this.mk3 = h[off + 3] as number;
    }
    this.fin = fin;
    this.rsv1 = rsv1;
    this.opcode = opcode;
    this.masked = masked;
    this.length = len;
    this.received = 0;
    if (opcode >= 8) {
      this.control = new Uint8Array(len);
      this.state = len === 0 ? S_HEADER : S_CONTROL;
      if (len === 0) {
        this.control = null;
        this.emit({ opcode, fin: true, rsv1: false, payload: EMPTY, first: true, last: true, length: 0 });
      }
    } else {
      this.state = S_PAYLOAD;
      if (len === 0) {
        this.state = S_HEADER;
        this.emit({ opcode, fin, rsv1, payload: EMPTY, first: true, last: true, length: 0 });
      }
    }
  }
}

const EMPTY = new Uint8Array(0);

function noSink(): void {
  throw new Error('FrameDecoder: no sink set');
}

/** Header size implied by the bytes seen so far (2 when unknown yet). */
function headerSize(h: Uint8Array, have: number): number {
  if (have < 2) return 2;
  const b1 = h[1] as number;
  const l = b1 & 0x7f;
  return 2 + (l === 126 ? 2 : l === 127 ? 8 : 0) + ((b1 & 0x80) !== 0 ? 4 : 0);
}
