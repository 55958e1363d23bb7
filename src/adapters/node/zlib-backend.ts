/**
 * permessage-deflate backend on `node:zlib` (RFC 7692 §7.2): native zlib, the
 * fast one on Node. Where `node:zlib` is emulated (Deno, Bun) and the
 * internals below are missing, it falls back to the public API.
 *
 * ## Synchronous calls on a persistent stream
 *
 * Context takeover needs one long-lived raw DEFLATE stream per direction, and
 * `zlib.inflateRawSync()` & co. create and close a stream per call. The
 * public streaming API keeps the stream but runs every write on the libuv
 * thread pool: a round trip (and a `Transform` stream's bookkeeping) per
 * message, which costs far more than inflating a small message.
 *
 * Node's own `processChunkSync` (behind `inflateSync`, and behind
 * `_processChunk(chunk, flag)` without a callback) closes the handle when it
 * is done, so it cannot be used on a persistent stream either. Underneath it
 * is the native handle's `writeSync(flush, in, inOff, inLen, out, outOff,
 * outLen)`, which runs zlib once on the calling thread, reports
 * `[availOut, availIn]` in the object's `_writeState` and closes nothing.
 * We drive that handle directly: our own scratch output buffer, our own
 * output bound (checked after every scratch-full, so a bomb costs at most
 * the limit plus one scratch), errors captured through the handle's
 * `onerror` hook.
 *
 * These are internals: they are feature-detected (and a round trip is
 * checked) per backend. Where they are missing, and for inputs above
 * `syncThreshold`, work goes through the public streaming API (`write` +
 * `flush(Z_SYNC_FLUSH, cb)`) on the same stream. A per-object FIFO runs
 * sync and async calls strictly one at a time in call order (the native
 * handle aborts the process if written while a thread-pool write is
 * running), so results and `reset()` apply in order.
 *
 * ## Measurements
 *
 * bench/micro/deflate.mjs on Node 20.20, 2 shared (busy) cores: per message,
 * one connection, context takeover, level 1, JSON-like text (≈4:1), best of
 * three rounds; async = `write` + `flush` on the thread pool. Small-size
 * figures vary by up to 2× between runs on this machine; the picture does not:
 *
 * | size     | inflate sync | async   | ×     | deflate sync | async   | ×    |
 * |----------|--------------|---------|-------|--------------|---------|------|
 * | 16 B     | 0.4 µs       | 91 µs   | ≈200  | 2.1 µs       | 41 µs   | ≈20  |
 * | 256 B    | 1.6 µs       | 58 µs   | 37    | 6.2 µs       | 103 µs  | 17   |
 * | 1 KiB    | 3.2 µs       | 49 µs   | 16    | 13 µs        | 70 µs   | 5    |
 * | 4 KiB    | 8.7 µs       | 74 µs   | 8.5   | 37 µs        | 165 µs  | 4.5  |
 * | 16 KiB   | 28 µs        | 161 µs  | 5.8   | 88 µs        | 238 µs  | 2.7  |
 * | 64 KiB   | 133 µs       | 701 µs  | 5.3   | 357 µs       | 635 µs  | 1.8  |
 * | 1 MiB    | 2.5 ms       | 5.6 ms  | 2.2   | 5.8 ms       | 8.1 ms  | 1.4  |
 *
 * Sync wins at every size: the thread-pool round trip (≈40–100 µs with the
 * stream machinery) costs more than inflating tens of KiB. At 1 MiB deflate
 * the two are within noise (1.0–1.4×), and four connections deflating 1 MiB
 * at once gain ≈1.1× on the pool (2 cores). What async buys is event-loop
 * responsiveness: a 1 MiB deflate blocks the loop for ~6–9 ms. Hence
 * {@link DEFAULT_SYNC_THRESHOLD} = 64 KiB: about half a millisecond of
 * blocking per call at most at level 1, and every socket read (≤ 64 KiB)
 * inflates synchronously.
 *
 * ## windowBits 8
 *
 * zlib cannot write a raw stream with an 8-bit window; Node's `DeflateRaw`
 * silently uses 9. We make that explicit: `createDeflater(8, …)` throws and
 * the codec asks for 9 (at 9 zlib never reaches back more than 250 bytes, so
 * a peer's limit of 8 holds). Inflating with 8 works (zlib ≥ 1.2.9 accepts it
 * for raw inflate); should a zlib reject it we inflate with 9 — a larger
 * window is always safe on the receive side.
 */
import {
  constants,
  createDeflateRaw,
  createInflateRaw,
  deflateRawSync,
  type DeflateRaw,
  type InflateRaw,
} from 'node:zlib';
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
} from '../../core/deflate/backend.js';
import type { WebSocketError } from '../../core/ws/errors.js';

/** Options of {@link createNodeZlibBackend}. */
export interface NodeZlibBackendOptions {
  /**
   * Inputs up to this many bytes are (de)compressed synchronously on the
   * calling thread; larger ones on the libuv thread pool (the call then
   * returns a promise). `Infinity`: always synchronous; `0`: always async.
   * Default {@link DEFAULT_SYNC_THRESHOLD}.
   */
  syncThreshold?: number;
  /** Scratch output buffer for synchronous work, in bytes. Default 64 KiB. */
  chunkSize?: number;
  /**
   * Use the native handle's `writeSync` (feature-detected). Default true;
   * false forces the public async API (tests, or a runtime that misbehaves).
   */
  useInternals?: boolean;
}

/** The node:zlib backend, with what it found at creation. */
export interface NodeZlibBackend extends DeflateBackend {
  /** Whether the synchronous path is available (internals detected and working). */
  readonly syncAvailable: boolean;
  /** Inputs up to this size run synchronously (0 when `syncAvailable` is false). */
  readonly syncThreshold: number;
}

/**
 * Default `syncThreshold`: inputs up to 64 KiB run on the calling thread,
 * where they cost at most about half a millisecond (see the measurements in
 * the module comment); bigger ones go to the thread pool so one huge message
 * does not stall every other connection. Received pieces rarely pass it: a
 * Node socket delivers at most 64 KiB per read.
 */
export const DEFAULT_SYNC_THRESHOLD = 64 * 1024;

/** Output chunk size of the async (stream) path. Node's default. */
const STREAM_CHUNK = 16 * 1024;
/** Node's minimum chunk size: the stream allocates one eagerly, unused when we stay sync. */
const MIN_CHUNK = constants.Z_MIN_CHUNK;

// ---------------------------------------------------------------------------
// The internals we rely on, typed narrowly.

type OnError = (this: ZlibHandle, message: string, errno: number, code?: string) => void;

interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  onerror: OnError;
}

interface ZlibInternals {
  _handle: ZlibHandle | null;
  /** [availOutAfter, availInAfter] of the last write. */
  _writeState: Uint32Array;
}

type ZlibStream = InflateRaw | DeflateRaw;

function internalsOf(z: ZlibStream): ZlibInternals | null {
  const i = z as unknown as Partial<ZlibInternals>;
  const h = i._handle;
  const s = i._writeState;
  if (!h || typeof h.writeSync !== 'function' || typeof h.onerror !== 'function') return null;
  if (!(s instanceof Uint32Array) || s.length < 2) return null;
  return i as ZlibInternals;
}

/**
 * Create a node:zlib backend. The synchronous path is detected once, on
 * first use: a small deflate + inflate round trip through `writeSync`,
 * checked against `deflateRawSync`.
 *
 * @example
 * ```ts
 * import { createNodeZlibBackend } from './zlib-backend.js';
 * const backend = createNodeZlibBackend({ syncThreshold: 256 * 1024 });
 * backend.syncAvailable; // true on Node 20
 * ```
 */
export function createNodeZlibBackend(options: NodeZlibBackendOptions = {}): NodeZlibBackend {
  const chunkSize = options.chunkSize ?? 64 * 1024;
  if (!Number.isInteger(chunkSize) || chunkSize < 64) throw new RangeError(`chunkSize must be ≥ 64, got ${chunkSize}`);
  const wanted = options.syncThreshold ?? DEFAULT_SYNC_THRESHOLD;
  if (!(wanted >= 0)) throw new RangeError(`syncThreshold must be ≥ 0, got ${wanted}`);
  let ctx: Ctx | null = null;
  // Detected on first use, not at import: importing this module has no effects.
  const getCtx = (): Ctx => {
    if (ctx) return ctx;
    const sync = options.useInternals !== false && wanted > 0 && selfTest();
    ctx = {
      syncThreshold: sync ? wanted : 0,
      // Only the async path uses the stream's own output buffer, allocated
      // per stream up front: keep it tiny when it will never be used.
      streamChunk: sync && wanted === Infinity ? MIN_CHUNK : STREAM_CHUNK,
      scratch: null,
      chunkSize,
    };
    return ctx;
  };
  return {
    name: 'node-zlib',
    get syncAvailable(): boolean {
      return getCtx().syncThreshold > 0;
    },
    get syncThreshold(): number {
      return getCtx().syncThreshold;
    },
    createInflater(windowBits: number): Inflater {
      checkInflaterArgs(windowBits);
      return new NodeInflater(getCtx(), windowBits);
    },
    createDeflater(windowBits: number, level: number, memLevel: number): Deflater {
      checkDeflaterArgs(windowBits, level, memLevel);
      return new NodeDeflater(getCtx(), windowBits, level, memLevel);
    },
  };
}

/** A shared node:zlib backend with default options. */
export const nodeZlibBackend: NodeZlibBackend = createNodeZlibBackend();

interface Ctx {
  syncThreshold: number;
  streamChunk: number;
  chunkSize: number;
  /** Shared by every stream of the backend: sync work never interleaves. */
  scratch: Uint8Array | null;
}

function scratchOf(ctx: Ctx): Uint8Array {
  return (ctx.scratch ??= new Uint8Array(ctx.chunkSize));
}

/** Check that `writeSync` behaves as we assume before trusting it. */
function selfTest(): boolean {
  try {
    const text = new TextEncoder().encode('permessage-deflate self test, permessage-deflate self test');
    const ctx: Ctx = { syncThreshold: Infinity, streamChunk: MIN_CHUNK, chunkSize: 64, scratch: null };
    const d = new NodeDeflater(ctx, 15, 6, 8);
    const i = new NodeInflater(ctx, 15);
    try {
      if (!d.usesInternals || !i.usesInternals) return false;
      const c = d.deflate(text, true);
      if (c instanceof Promise) return false;
      // Cross-check against the public one-shot API.
      const ref = deflateRawSync(text, { finishFlush: constants.Z_SYNC_FLUSH });
      if (ref.length - 4 !== c.length || !c.every((b, k) => b === ref[k])) return false;
      const out = i.inflate(c, true, text.length);
      if (out instanceof Promise) return false;
      const back = joinChunks(out, text.length);
      return back.length === text.length && back.every((b, k) => b === text[k]);
    } finally {
      d.close();
      i.close();
    }
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// One zlib stream with a FIFO of sync/async jobs.

interface Job {
  run(): unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** State of the async call in flight (its output and how to settle it). */
interface Flight {
  chunks: Uint8Array[];
  total: number;
  max: number;
  settle(error: unknown): void;
}

abstract class NodeStream {
  protected readonly ctx: Ctx;
  private z: ZlibStream | null = null;
  private internals: ZlibInternals | null = null;
  /** The last `writeSync` reported an error (through the handle's onerror). */
  private syncError: string | null = null;
  private inSync = false;
  /** An async write is on the thread pool: nothing else may touch the stream. */
  private busy = false;
  private readonly jobs: Job[] = [];
  private flight: Flight | null = null;
  protected failed: unknown = null;
  private closed = false;

  constructor(ctx: Ctx) {
    this.ctx = ctx;
  }

  protected abstract create(): ZlibStream;
  protected abstract fail(detail: string): WebSocketError;

  /** Whether this stream runs small inputs through `writeSync`. */
  get usesInternals(): boolean {
    this.stream();
    return this.internals !== null;
  }

  /** The zlib stream, created on first use (lazily: idle connections pay nothing). */
  private stream(): ZlibStream {
    if (this.z) return this.z;
    const z = this.create();
    const internals = this.ctx.syncThreshold > 0 ? internalsOf(z) : null;
    if (internals) {
      const handle = internals._handle as ZlibHandle;
      const original = handle.onerror;
      const owner = this;
      // During our writeSync, record the error instead of letting Node
      // destroy the stream (and emit 'error' on a later tick). The async
      // path keeps Node's handler.
      handle.onerror = function (this: ZlibHandle, message: string, errno: number, code?: string): void {
        if (owner.inSync) owner.syncError = message || code || `zlib errno ${errno}`;
        else original.call(this, message, errno, code);
      };
    }
    // Listeners ignore a stream that was replaced (after a final block) or closed.
    z.on('data', (chunk: Uint8Array) => {
      if (this.z === z) this.onData(chunk);
    });
    z.on('error', (err: Error) => {
      if (this.z !== z) return;
      const error = this.fail(err.message);
      this.failed ??= error;
      this.flight?.settle(error);
    });
    this.z = z;
    this.internals = internals;
    return z;
  }

  private onData(chunk: Uint8Array): void {
    const f = this.flight;
    if (!f) return;
    f.total += chunk.length;
    if (f.total > f.max) {
      // Stop zlib now: Node's processCallback checks `destroyed` after
      // every output chunk, so a bomb costs at most max + one chunk.
      const error = inflateTooBig(f.max);
      this.failed ??= error;
      f.settle(error);
      this.destroyStream();
      return;
    }
    f.chunks.push(chunk);
  }

  /**
   * Run a call: synchronously when nothing is pending and the input is small
   * enough, else behind the pending calls (the result is then a promise).
   */
  protected schedule<R>(size: number, sync: () => R, async: () => Promise<R>): R | Promise<R> {
    if (this.failed) throw this.failed;
    if (this.closed) throw this.fail('closed');
    if (!this.busy && this.jobs.length === 0 && this.canSync(size)) return sync();
    return new Promise<R>((resolve, reject) => {
      this.jobs.push({
        run: () => {
          if (this.failed) throw this.failed;
          if (this.closed) throw this.fail('closed');
          return this.canSync(size) ? sync() : async();
        },
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      this.pump();
    });
  }

  private canSync(size: number): boolean {
    this.stream();
    return this.internals !== null && size <= this.ctx.syncThreshold;
  }

  /** Run a cheap operation (reset) now, or behind the pending calls. */
  protected ordered(op: () => void): void {
    if (!this.busy && this.jobs.length === 0) op();
    else this.jobs.push({ run: op, resolve: () => {}, reject: () => {} });
  }

  private pump(): void {
    while (!this.busy && this.jobs.length > 0) {
      const job = this.jobs.shift() as Job;
      let result: unknown;
      try {
        result = job.run();
      } catch (err) {
        job.reject(err);
        continue;
      }
      if (!(result instanceof Promise)) {
        job.resolve(result);
        continue;
      }
      this.busy = true;
      result.then(
        (v: unknown) => {
          this.busy = false;
          job.resolve(v);
          this.pump();
        },
        (e: unknown) => {
          this.busy = false;
          job.reject(e);
          this.pump();
        },
      );
      return;
    }
  }

  /**
   * Native writes on the calling thread, repeated while the scratch buffer
   * fills up. Returns the running output total; throws on zlib errors and
   * when the output passes `max`. Sets `ended` when zlib stops taking input
   * at the end of the DEFLATE stream.
   */
  protected writeSync(input: Uint8Array, flush: number, out: Output, max: number): void {
    const { _handle: handle, _writeState: state } = this.internals as ZlibInternals;
    if (!handle) throw this.fail('closed');
    const scratch = scratchOf(this.ctx);
    let inOff = 0;
    let inLen = input.length;
    for (;;) {
      this.inSync = true;
      this.syncError = null;
      try {
        handle.writeSync(flush, input, inOff, inLen, scratch, 0, scratch.length);
      } finally {
        this.inSync = false;
      }
      if (this.syncError !== null) throw this.fail(this.syncError);
      const availOut = state[0] as number;
      const availIn = state[1] as number;
      const have = scratch.length - availOut;
      if (have > 0) {
        out.total += have;
        // Checked before copying: a bomb never gets past one scratch-full.
        if (out.total > max) throw inflateTooBig(max);
        out.chunks.push(scratch.slice(0, have));
      }
      inOff += inLen - availIn;
      inLen = availIn;
      if (availOut !== 0) {
        // Output space left but input not taken: the end of the DEFLATE stream.
        if (availIn > 0) out.ended = true;
        return;
      }
    }
  }

  /** Write `pieces` and a flush on the thread pool; output arrives as 'data'. */
  protected writeAsync(pieces: Uint8Array[], flush: number, max: number): Promise<Output> {
    const z = this.stream();
    const before = z.bytesWritten;
    let size = 0;
    return new Promise((resolve, reject) => {
      const flight: Flight = {
        chunks: [],
        total: 0,
        max,
        settle: (error: unknown) => {
          if (this.flight !== flight) return;
          this.flight = null;
          if (error) {
            reject(error);
            return;
          }
          // Input left over: zlib reached the end of the DEFLATE stream, and
          // Node ended the stream's readable side.
          const ended = z.bytesWritten - before < size;
          resolve({ chunks: flight.chunks, total: flight.total, ended });
        },
      };
      this.flight = flight;
      for (const p of pieces) {
        if (p.length === 0) continue;
        size += p.length;
        z.write(p);
      }
      z.flush(flush, () => flight.settle(null));
    });
  }

  /** Drop the window. A stream whose DEFLATE data ended is replaced instead. */
  protected resetStream(replace: boolean): void {
    if (this.failed || this.closed || !this.z) return;
    if (replace) this.destroyStream();
    else this.z.reset();
  }

  /** Close the zlib stream now (frees its native memory); a later call would create a new one. */
  protected destroyStream(): void {
    const z = this.z;
    this.z = null;
    this.internals = null;
    z?.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const error = this.fail('closed');
    this.flight?.settle(error);
    for (const job of this.jobs.splice(0)) job.reject(error);
    this.destroyStream();
  }
}

/** Output of one call. */
interface Output {
  chunks: Uint8Array[];
  total: number;
  /** zlib reached the end of the DEFLATE stream (a final block). */
  ended: boolean;
}

class NodeInflater extends NodeStream implements Inflater {
  private readonly windowBits: number;
  /** The sender ended its DEFLATE stream inside the current message. */
  private ended = false;

  constructor(ctx: Ctx, windowBits: number) {
    super(ctx);
    this.windowBits = windowBits;
  }

  protected create(): ZlibStream {
    const opts = { windowBits: this.windowBits, chunkSize: this.ctx.streamChunk };
    try {
      return createInflateRaw(opts);
    } catch {
      // A zlib that refuses 8: a larger window is always safe when inflating.
      return createInflateRaw({ ...opts, windowBits: Math.max(9, this.windowBits) });
    }
  }

  protected fail(detail: string): WebSocketError {
    return inflateFailed(detail);
  }

  inflate(data: Uint8Array, fin: boolean, maxOutput: number): Uint8Array[] | Promise<Uint8Array[]> {
    return this.schedule(
      data.length,
      () => this.inflateSync(data, fin, maxOutput),
      () => this.inflateAsync(data, fin, maxOutput),
    );
  }

  private inflateSync(data: Uint8Array, fin: boolean, max: number): Uint8Array[] {
    const out: Output = { chunks: [], total: 0, ended: this.ended };
    try {
      // After a final block the rest of the message is not DEFLATE data
      // (zlib would not take it anyway): skip it.
      if (!out.ended) this.writeSync(data, constants.Z_SYNC_FLUSH, out, max);
      // RFC 7692 §7.2.2: append 0x00 0x00 0xff 0xff to the message, then inflate.
      if (fin && !out.ended) this.writeSync(DEFLATE_TAIL, constants.Z_SYNC_FLUSH, out, max);
    } catch (err) {
      // Spent (see Inflater.inflate): free the native memory now, not at GC.
      this.failed ??= err;
      this.destroyStream();
      throw err;
    }
    this.afterPiece(out.ended, fin);
    return out.chunks;
  }

  private async inflateAsync(data: Uint8Array, fin: boolean, max: number): Promise<Uint8Array[]> {
    if (this.ended) {
      this.afterPiece(true, fin);
      return [];
    }
    // RFC 7692 §7.2.2: append 0x00 0x00 0xff 0xff to the message, then inflate.
    const out = await this.writeAsync(fin ? [data, DEFLATE_TAIL] : [data], constants.Z_SYNC_FLUSH, max);
    this.afterPiece(out.ended, fin);
    return out.chunks;
  }

  private afterPiece(ended: boolean, fin: boolean): void {
    this.ended = ended;
    if (fin && ended) {
      // The sender closed its DEFLATE stream with a final block; the next
      // message starts a new stream, which a fresh zlib stream expects.
      this.ended = false;
      this.resetStream(true);
    }
  }

  reset(): void {
    this.ordered(() => {
      this.ended = false;
      this.resetStream(false);
    });
  }
}

class NodeDeflater extends NodeStream implements Deflater {
  private readonly windowBits: number;
  private readonly level: number;
  private readonly memLevel: number;

  constructor(ctx: Ctx, windowBits: number, level: number, memLevel: number) {
    super(ctx);
    this.windowBits = windowBits;
    this.level = level;
    this.memLevel = memLevel;
  }

  protected create(): ZlibStream {
    return createDeflateRaw({
      windowBits: this.windowBits,
      level: this.level,
      memLevel: this.memLevel,
      chunkSize: this.ctx.streamChunk,
    });
  }

  protected fail(detail: string): WebSocketError {
    return deflateFailed(detail);
  }

  deflate(data: Uint8Array, fin: boolean): Uint8Array | Promise<Uint8Array> {
    return this.schedule(
      data.length,
      () => this.deflateSync(data, fin),
      () => this.deflateAsync(data, fin),
    );
  }

  private deflateSync(data: Uint8Array, fin: boolean): Uint8Array {
    const out: Output = { chunks: [], total: 0, ended: false };
    try {
      // Every piece is sync-flushed so it can be sent at once (RFC 7692 §7.2.1).
      this.writeSync(data, constants.Z_SYNC_FLUSH, out, Infinity);
    } catch (err) {
      this.failed ??= err;
      this.destroyStream();
      throw err;
    }
    return finish(out, fin);
  }

  private async deflateAsync(data: Uint8Array, fin: boolean): Promise<Uint8Array> {
    return finish(await this.writeAsync([data], constants.Z_SYNC_FLUSH, Infinity), fin);
  }

  reset(): void {
    this.ordered(() => this.resetStream(false));
  }
}

function finish(out: Output, fin: boolean): Uint8Array {
  // RFC 7692 §7.2.1: the last piece of a message loses its 00 00 ff ff.
  if (fin) return joinAndStripTail(out.chunks, out.total);
  return out.total === 0 ? new Uint8Array(0) : joinChunks(out.chunks, out.total);
}
