/**
 * The contract between the permessage-deflate codec (RFC 7692 §7) and a
 * DEFLATE implementation (RFC 1951): `node:zlib` on Node, pako elsewhere.
 *
 * A backend only has to move bytes through a raw DEFLATE stream that keeps
 * its LZ77 window between calls (context takeover, RFC 7692 §7.1.1) and to
 * bound its output. Everything RFC 7692 adds on top — which window size, when
 * to reset, the 00 00 ff ff tail — is done by the backend's inflater/deflater
 * objects as described on each method, so all backends behave the same.
 *
 * Sans-I/O: no `Buffer`, no `node:*`.
 */
import { joinChunks } from '../bytes.js';
import { WebSocketError } from '../ws/errors.js';

/**
 * The four octets an empty stored block ends with after a sync flush
 * (RFC 7692 §7.2.1): the sender strips them from each message, the receiver
 * appends them again before inflating (§7.2.2).
 */
export const DEFLATE_TAIL: Readonly<Uint8Array> = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/** Receive side of one raw DEFLATE stream. */
export interface Inflater {
  /**
   * Inflate one piece of a compressed message. When `fin`, the 00 00 ff ff
   * tail is appended first (RFC 7692 §7.2.2). Output comes back as chunks
   * (possibly none).
   *
   * If the output of THIS call would exceed `maxOutput` bytes it fails with
   * `WebSocketError('WS_ERR_MESSAGE_TOO_BIG', …, 1009)` without having
   * allocated much more than `maxOutput` (decompression bombs). Corrupt input
   * fails with `WebSocketError('WS_ERR_INFLATE_FAILED', …, 1007)`. After a
   * failure the inflater is spent: only `close()` is meaningful.
   *
   * A backend may answer with a promise (work done off the main thread); it
   * still processes calls strictly in call order.
   */
  inflate(data: Uint8Array, fin: boolean, maxOutput: number): Uint8Array[] | Promise<Uint8Array[]>;
  /**
   * Drop the LZ77 window (no_context_takeover, RFC 7692 §7.1.1), keep the
   * object. Takes effect after every call made before it (an async backend
   * queues it), so call it right after the `fin` call, not when its promise
   * settles.
   */
  reset(): void;
  /** Release native memory / handles; pending async calls reject. Idempotent. */
  close(): void;
}

/** Send side of one raw DEFLATE stream. */
export interface Deflater {
  /**
   * Compress one piece of a message. Every piece is sync-flushed so it can go
   * out at once; when `fin` ends the message the trailing 00 00 ff ff is
   * stripped (RFC 7692 §7.2.1). Returns the compressed bytes of this piece.
   * Failures are `WebSocketError('WS_ERR_DEFLATE_FAILED', …, 1011)`.
   */
  deflate(data: Uint8Array, fin: boolean): Uint8Array | Promise<Uint8Array>;
  /**
   * Drop the LZ77 window (no_context_takeover, RFC 7692 §7.1.1), keep the
   * object. Like `Inflater.reset`, ordered after every earlier call.
   */
  reset(): void;
  /** Release native memory / handles; pending async calls reject. Idempotent. */
  close(): void;
}

/** A DEFLATE implementation the codec can use. */
export interface DeflateBackend {
  /** For logs and benchmarks, e.g. `"pako"`, `"node-zlib"`. */
  readonly name: string;
  /**
   * A raw inflater whose window holds `windowBits` (8…15) bits. Inflating with
   * a larger window than the sender used is always safe.
   */
  createInflater(windowBits: number): Inflater;
  /**
   * A raw deflater. `windowBits` 9…15: zlib cannot produce a raw stream with
   * an 8-bit window, so backends throw a `RangeError` for 8 rather than
   * silently using 9 as Node's `DeflateRaw` does. The codec asks for 9 when 8
   * was negotiated (`deflaterWindowBits`): at 9 zlib never reaches back more
   * than 250 bytes (MAX_DIST = 2^9 − 262), within the 256 that 8 allows.
   * `level` 0…9, `memLevel` 1…9.
   */
  createDeflater(windowBits: number, level: number, memLevel: number): Deflater;
}

/** 1009: the inflated message is larger than allowed. */
export function inflateTooBig(maxOutput: number): WebSocketError {
  return new WebSocketError(
    'WS_ERR_MESSAGE_TOO_BIG',
    `inflated message exceeds the limit (${maxOutput} bytes left)`,
    1009,
  );
}

/** 1007: the compressed data is not valid DEFLATE. `detail` goes to logs only. */
export function inflateFailed(detail: string): WebSocketError {
  return new WebSocketError('WS_ERR_INFLATE_FAILED', `invalid compressed data: ${detail}`, 1007);
}

/** 1011: compression failed (a bug or out of memory, never the peer's fault). */
export function deflateFailed(detail: string): WebSocketError {
  return new WebSocketError('WS_ERR_DEFLATE_FAILED', `deflate failed: ${detail}`, 1011);
}

/** Validate the deflate parameters common to all backends. */
export function checkDeflaterArgs(windowBits: number, level: number, memLevel: number): void {
  if (!Number.isInteger(windowBits) || windowBits < 9 || windowBits > 15) {
    throw new RangeError(`deflate windowBits must be 9…15 (zlib cannot write raw 8-bit windows), got ${windowBits}`);
  }
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new RangeError(`deflate level must be 0…9, got ${level}`);
  if (!Number.isInteger(memLevel) || memLevel < 1 || memLevel > 9) {
    throw new RangeError(`deflate memLevel must be 1…9, got ${memLevel}`);
  }
}

/** Validate inflate window bits (RFC 7692 §7.1.2: 8…15). */
export function checkInflaterArgs(windowBits: number): void {
  if (!Number.isInteger(windowBits) || windowBits < 8 || windowBits > 15) {
    throw new RangeError(`inflate windowBits must be 8…15, got ${windowBits}`);
  }
}

/**
 * Strip the 00 00 ff ff a sync flush ends with (RFC 7692 §7.2.1) from the
 * output of the last piece of a message, joining `chunks` into one array.
 */
export function joinAndStripTail(chunks: Uint8Array[], total: number): Uint8Array {
  // Nothing new since the previous piece's flush: zlib answers Z_BUF_ERROR and
  // writes nothing. Send the single 0x00 of RFC 7692 §7.2.3.6, which with the
  // receiver's appended tail reads as one empty stored block.
  if (total === 0) return new Uint8Array(1);
  // RFC 7692 §7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from
  // the tail end." A sync flush always ends with them.
  if (total < 4) throw deflateFailed('sync flush produced no empty stored block');
  const out = joinChunks(chunks, total);
  const n = out.length;
  if (out[n - 4] !== 0x00 || out[n - 3] !== 0x00 || out[n - 2] !== 0xff || out[n - 1] !== 0xff) {
    throw deflateFailed('sync flush did not end with 00 00 ff ff');
  }
  return out.subarray(0, n - 4);
}

export { joinChunks };
