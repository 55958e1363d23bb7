/**
 * Frame encoder (RFC 6455 §5.2). Writes a frame as one chunk, or as header +
 * payload when the payload is large and unmasked (no copy of big payloads).
 */
import { maskInto } from './mask.js';

/**
 * Payloads up to this size are copied behind their header into one chunk:
 * one write beats two for small frames; above it the copy costs more than a
 * second chunk in the same (corked) write.
 */
export const COALESCE_LIMIT = 16 * 1024;

/** Bytes of header for a payload of `len` bytes. */
export function headerLength(len: number, masked: boolean): number {
  return (len < 126 ? 2 : len < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/** Write a frame header at `out[0..]`; returns its length. */
export function writeHeader(
  out: Uint8Array,
  opcode: number,
  fin: boolean,
  rsv1: boolean,
  len: number,
  maskKey: Uint8Array | null,
): number {
  out[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const m = maskKey ? 0x80 : 0;
  let off: number;
  if (len < 126) {
    out[1] = m | len;
    off = 2;
  } else if (len < 0x10000) {
    out[1] = m | 126;
    out[2] = len >>> 8;
    out[3] = len & 0xff;
    off = 4;
  } else {
    out[1] = m | 127;
    const hi = Math.floor(len / 0x100000000);
    const lo = len >>> 0;
    out[2] = hi >>> 24;
    out[3] = (hi >>> 16) & 0xff;
    out[4] = (hi >>> 8) & 0xff;
    out[5] = hi & 0xff;
    out[6] = lo >>> 24;
    out[7] = (lo >>> 16) & 0xff;
    out[8] = (lo >>> 8) & 0xff;
    out[9] = lo & 0xff;
    off = 10;
  }
  if (maskKey) {
    out[off] = maskKey[0] as number;
    out[off + 1] = maskKey[1] as number;
    out[off + 2] = maskKey[2] as number;
    out[off + 3] = maskKey[3] as number;
    off += 4;
  }
  return off;
}

/** Where encoded frames go. */
export interface FrameOutput {
  write(chunk: Uint8Array): void;
}

/** Allocates output buffers; a runtime may pass a faster one (Node: pooled Buffers). */
export type Alloc = (size: number) => Uint8Array;

const newUint8Array: Alloc = (size) => new Uint8Array(size);

/**
 * Encode one frame and hand its bytes to `out.write` (once or twice). A masked
 * frame is always one fresh chunk: the caller's payload is never modified.
 */
export function encodeFrame(
  out: FrameOutput,
  opcode: number,
  fin: boolean,
  rsv1: boolean,
  payload: Uint8Array,
  maskKey: Uint8Array | null,
  alloc: Alloc = newUint8Array,
): void {
  const len = payload.length;
  const hl = headerLength(len, maskKey !== null);
  if (maskKey) {
    const buf = alloc(hl + len);
    writeHeader(buf, opcode, fin, rsv1, len, maskKey);
    maskInto(payload, maskKey, buf, hl);
    out.write(buf);
  } else if (len <= COALESCE_LIMIT) {
    const buf = alloc(hl + len);
    writeHeader(buf, opcode, fin, rsv1, len, null);
    buf.set(payload, hl);
    out.write(buf);
  } else {
    const header = alloc(hl);
    writeHeader(header, opcode, fin, rsv1, len, null);
    out.write(header);
    out.write(payload);
  }
}
