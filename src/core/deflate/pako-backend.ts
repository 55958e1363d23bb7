/**
 * Isomorphic permessage-deflate backend on pako's zlib port (pure JS, runs in
 * browsers, Deno, workers). Always synchronous.
 *
 * We drive pako's low-level `z_stream` API (`zlibInflate` / `zlibDeflate`)
 * rather than its `Inflate` / `Deflate` wrappers: the wrappers end the stream
 * on the first final block, allocate a fresh output chunk per call and have
 * no output bound. Here every call writes into one scratch buffer shared by
 * the backend's streams (all work is synchronous, so sharing is safe) and
 * copies out exactly what was produced, checking the bound after each
 * scratch-full: a decompression bomb costs at most `maxOutput` + one scratch.
 */
import {
  Z_BUF_ERROR,
  Z_DEFAULT_STRATEGY,
  Z_OK,
  Z_STREAM_END,
  Z_SYNC_FLUSH,
  ZStream,
  zlibDeflate,
  zlibDeflateEnd,
  zlibDeflateInit2,
  zlibDeflateReset,
  zlibInflate,
  zlibInflateEnd,
  zlibInflateInit2,
  zlibInflateReset,
} from 'pako';
import type { WebSocketError } from '../ws/errors.js';
import {
  DEFLATE_TAIL,
  type DeflateBackend,
  type Deflater,
  type Inflater,
  checkDeflaterArgs,
  checkInflaterArgs,
  deflateFailed,
  inflateFailed,
  inflateTooBig,
  joinAndStripTail,
  joinChunks,
} from './backend.js';

/** Options of {@link createPakoBackend}. */
export interface PakoBackendOptions {
  /** Size of the shared scratch output buffer, in bytes. Default 64 KiB. */
  chunkSize?: number;
  /**
   * Use zlib's classic hash so output matches canonical zlib byte for byte
   * (slower). Default false: pako's faster hash, whose output matches the
   * Chromium zlib that Node bundles; either stream is equally valid.
   */
  legacyHash?: boolean;
}

const Z_DEFLATED = 8;
const EMPTY = new Uint8Array(0);

/**
 * Create a pako backend.
 *
 * @example
 * ```ts
 * const backend = createPakoBackend();
 * const d = backend.createDeflater(15, 6, 8);
 * const i = backend.createInflater(15);
 * const bytes = d.deflate(new TextEncoder().encode('hello'), true) as Uint8Array;
 * i.inflate(bytes, true, 1 << 20); // [Uint8Array "hello"]
 * ```
 */
export function createPakoBackend(options: PakoBackendOptions = {}): DeflateBackend {
  const chunkSize = options.chunkSize ?? 64 * 1024;
  if (!Number.isInteger(chunkSize) || chunkSize < 64) throw new RangeError(`chunkSize must be ≥ 64, got ${chunkSize}`);
  const legacyHash = options.legacyHash === true;
  let scratch: Uint8Array<ArrayBuffer> | null = null;
  // Allocated on first use: an idle process that never compresses pays nothing.
  const getScratch = (): Uint8Array<ArrayBuffer> => (scratch ??= new Uint8Array(chunkSize));
  return {
    name: 'pako',
    createInflater(windowBits: number): Inflater {
      checkInflaterArgs(windowBits);
      return new PakoInflater(windowBits, getScratch);
    },
    createDeflater(windowBits: number, level: number, memLevel: number): Deflater {
      checkDeflaterArgs(windowBits, level, memLevel);
      return new PakoDeflater(windowBits, level, memLevel, legacyHash, getScratch);
    },
  };
}

/** A shared pako backend with default options. */
export const pakoBackend: DeflateBackend = createPakoBackend();

class PakoInflater implements Inflater {
  private strm: ZStream | null;
  private readonly scratch: () => Uint8Array<ArrayBuffer>;
  private failed: WebSocketError | null = null;
  /** The peer ended the DEFLATE stream (BFINAL) inside the current message. */
  private ended = false;

  constructor(windowBits: number, scratch: () => Uint8Array<ArrayBuffer>) {
    this.scratch = scratch;
    const strm = new ZStream();
    // Negative windowBits: raw DEFLATE, no zlib header (RFC 7692 §7.2).
    const status = zlibInflateInit2(strm, -windowBits);
    if (status !== Z_OK) throw new RangeError(`pako inflateInit2 failed (${status})`);
    this.strm = strm;
  }

  inflate(data: Uint8Array, fin: boolean, maxOutput: number): Uint8Array[] {
    if (this.failed) throw this.failed;
    if (!this.strm) throw inflateFailed('inflater is closed');
    const chunks: Uint8Array[] = [];
    try {
      let total = this.run(data, chunks, 0, maxOutput);
      // RFC 7692 §7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail
      // end of the payload of the message" before decompressing.
      if (fin) total = this.run(DEFLATE_TAIL, chunks, total, maxOutput);
    } catch (err) {
      this.failed = err as WebSocketError;
      throw err;
    }
    if (fin && this.ended) {
      // The sender closed its DEFLATE stream with a final block; the next
      // message starts a new stream, which a fresh state expects.
      this.reset();
    }
    return chunks;
  }

  private run(input: Uint8Array, chunks: Uint8Array[], total: number, max: number): number {
    // After a final block the rest of the message (at least our own tail) is
    // not DEFLATE data; ignore it like zlib-based peers do.
    if (this.ended) return total;
    const strm = this.strm as ZStream;
    const out = this.scratch();
    strm.input = input;
    strm.next_in = 0;
    strm.avail_in = input.length;
    try {
      for (;;) {
        strm.output = out;
        strm.next_out = 0;
        strm.avail_out = out.length;
        const status = zlibInflate(strm, Z_SYNC_FLUSH);
        if (status !== Z_OK && status !== Z_STREAM_END && status !== Z_BUF_ERROR) {
          // Z_DATA_ERROR, Z_NEED_DICT (a zlib header where none belongs), Z_MEM_ERROR…
          throw inflateFailed(strm.msg || `zlib status ${status}`);
        }
        const have = strm.next_out;
        if (have > 0) {
          total += have;
          // Checked before copying: a bomb never gets past one scratch-full.
          if (total > max) throw inflateTooBig(max);
          chunks.push(out.slice(0, have));
        }
        if (status === Z_STREAM_END) {
          this.ended = true;
          break;
        }
        // Output space left over means all input is consumed and flushed.
        if (strm.avail_out !== 0) break;
      }
    } finally {
      strm.input = EMPTY; // do not keep the caller's buffer alive
    }
    return total;
  }

  reset(): void {
    this.ended = false;
    if (this.strm && !this.failed) zlibInflateReset(this.strm);
  }

  close(): void {
    if (this.strm) zlibInflateEnd(this.strm);
    this.strm = null;
  }
}

class PakoDeflater implements Deflater {
  private strm: ZStream | null;
  private readonly scratch: () => Uint8Array<ArrayBuffer>;

  constructor(windowBits: number, level: number, memLevel: number, legacyHash: boolean, scratch: () => Uint8Array<ArrayBuffer>) {
    this.scratch = scratch;
    const strm = new ZStream();
    const status = zlibDeflateInit2(strm, level, Z_DEFLATED, -windowBits, memLevel, Z_DEFAULT_STRATEGY, legacyHash);
    if (status !== Z_OK) throw new RangeError(`pako deflateInit2 failed (${status})`);
    this.strm = strm;
  }

  deflate(data: Uint8Array, fin: boolean): Uint8Array {
    const strm = this.strm;
    if (!strm) throw deflateFailed('deflater is closed');
    const out = this.scratch();
    const chunks: Uint8Array[] = [];
    let total = 0;
    strm.input = data;
    strm.next_in = 0;
    strm.avail_in = data.length;
    try {
      for (;;) {
        // A full scratch each round keeps avail_out > 6, as zlib asks for
        // sync flushes (no repeated flush markers).
        strm.output = out;
        strm.next_out = 0;
        strm.avail_out = out.length;
        // Every piece is sync-flushed so it can be sent at once (RFC 7692 §7.2.1).
        const status = zlibDeflate(strm, Z_SYNC_FLUSH);
        if (status !== Z_OK && status !== Z_BUF_ERROR) throw deflateFailed(strm.msg || `zlib status ${status}`);
        const have = strm.next_out;
        if (have > 0) {
          total += have;
          chunks.push(out.slice(0, have));
        }
        if (strm.avail_out !== 0) break;
      }
    } finally {
      strm.input = EMPTY;
    }
    if (fin) return joinAndStripTail(chunks, total);
    return total === 0 ? EMPTY : joinChunks(chunks, total);
  }

  reset(): void {
    if (this.strm) zlibDeflateReset(this.strm);
  }

  close(): void {
    if (this.strm) zlibDeflateEnd(this.strm);
    this.strm = null;
  }
}
