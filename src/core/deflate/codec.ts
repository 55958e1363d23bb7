/**
 * The permessage-deflate codec (RFC 7692 §7.2) for one connection, on a
 * pluggable {@link DeflateBackend}, and `OrderedQueue`, which keeps
 * results in submission order when a backend answers asynchronously.
 *
 * Direction matters (RFC 7692 §7.1): a server inflates what the client
 * compressed, so its inflater follows the client's parameters
 * (`client_max_window_bits`, `client_no_context_takeover`) and its deflater
 * the server's; a client the other way round.
 *
 * Sans-I/O: no `Buffer`, no `node:*`.
 */
import { WebSocketError } from '../ws/errors.js';
import { type DeflateBackend, type Deflater, type Inflater, inflateTooBig } from './backend.js';
import { DEFLATE_DEFAULTS, type DeflateParams, deflaterWindowBits } from './negotiate.js';

export type { DeflateParams } from './negotiate.js';

/** Options of {@link PerMessageDeflate}. */
export interface PerMessageDeflateOptions {
  /** What was negotiated (see `negotiate.ts`). */
  params: DeflateParams;
  /** Which end of the connection we are. */
  role: 'client' | 'server';
  /** The DEFLATE implementation: node:zlib on Node, pako elsewhere. */
  backend: DeflateBackend;
  /** Messages smaller than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number;
  /** zlib level 0…9. Default {@link DEFLATE_DEFAULTS}.level. */
  level?: number;
  /** zlib memLevel 1…9. Default {@link DEFLATE_DEFAULTS}.memLevel. */
  memLevel?: number;
  /** Largest inflated message, in bytes (decompression bombs fail with 1009). */
  maxMessageSize: number;
}

/**
 * permessage-deflate for one connection: inflate received messages, deflate
 * sent ones, with context takeover or not as negotiated.
 *
 * Inflater and deflater are created on first use: most connections never
 * compress in one direction or the other, and a zlib deflater with a 15-bit
 * window costs about 256 KiB.
 *
 * Each method returns synchronously when the backend does (pako always,
 * node:zlib for inputs up to its `syncThreshold`) and a promise otherwise;
 * callers that can get promises keep order with an explicit queue such as
 * `OrderedQueue`.
 *
 * @example
 * ```ts
 * const server = new PerMessageDeflate({ params, role: 'server', backend: pakoBackend, maxMessageSize: 1 << 20 });
 * const client = new PerMessageDeflate({ params, role: 'client', backend: pakoBackend, maxMessageSize: 1 << 20 });
 * const wire = client.deflate(new TextEncoder().encode('hello'), true) as Uint8Array;
 * server.inflate(wire, true, 0); // [Uint8Array "hello"]
 * ```
 */
export class PerMessageDeflate {
  readonly params: Readonly<DeflateParams>;
  readonly role: 'client' | 'server';
  readonly backend: DeflateBackend;
  /** Messages of at least this many bytes are compressed. */
  readonly threshold: number;
  readonly maxMessageSize: number;
  private readonly level: number;
  private readonly memLevel: number;
  /** The peer's max window bits: what our inflater must hold. */
  private readonly inflateWindowBits: number;
  /** The peer drops its context after each message: so do we. */
  private readonly inflateReset: boolean;
  /** Our max window bits, as a zlib deflater can use them. */
  private readonly deflateWindowBits: number;
  /** We drop our context after each message. */
  private readonly deflateReset: boolean;
  private inflater: Inflater | null = null;
  private deflater: Deflater | null = null;
  private closed = false;

  constructor(options: PerMessageDeflateOptions) {
    const { params, role, backend } = options;
    this.params = params;
    this.role = role;
    this.backend = backend;
    this.threshold = options.threshold ?? DEFLATE_DEFAULTS.threshold;
    this.level = options.level ?? DEFLATE_DEFAULTS.level;
    this.memLevel = options.memLevel ?? DEFLATE_DEFAULTS.memLevel;
    this.maxMessageSize = options.maxMessageSize;
    if (!(this.threshold >= 0)) throw new RangeError(`threshold must be ≥ 0, got ${this.threshold}`);
    if (!(this.maxMessageSize >= 0)) throw new RangeError(`maxMessageSize must be ≥ 0, got ${this.maxMessageSize}`);
    const server = role === 'server';
    // RFC 7692 §7.1.2.2 / §7.1.2.1: client_max_window_bits limits what the
    // client compresses with (what a server inflates), server_max_window_bits
    // the reverse.
    this.inflateWindowBits = server ? params.clientMaxWindowBits : params.serverMaxWindowBits;
    // 8 becomes 9 for zlib deflaters, which at 9 never reach back more than
    // 250 bytes (MAX_DIST = 2^9 - 262), so the limit of 8 still holds.
    this.deflateWindowBits = deflaterWindowBits(server ? params.serverMaxWindowBits : params.clientMaxWindowBits);
    // RFC 7692 §7.1.1.1 / §7.1.1.2: with <peer>_no_context_takeover the peer
    // starts each message with an empty window; with ours, we do.
    this.inflateReset = server ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    this.deflateReset = server ? params.serverNoContextTakeover : params.clientNoContextTakeover;
  }

  /**
   * Inflate one piece of a received compressed message (RFC 7692 §7.2.2).
   * `receivedSoFar` is the inflated size of the message before this piece:
   * the output may not take the message past `maxMessageSize`
   * (`WS_ERR_MESSAGE_TOO_BIG`, 1009). Corrupt data: `WS_ERR_INFLATE_FAILED`, 1007.
   */
  inflate(piece: Uint8Array, fin: boolean, receivedSoFar: number): Uint8Array[] | Promise<Uint8Array[]> {
    if (this.closed) throw closedError();
    const room = this.maxMessageSize - receivedSoFar;
    if (room < 0) throw inflateTooBig(0);
    const inflater = (this.inflater ??= this.backend.createInflater(this.inflateWindowBits));
    const out = inflater.inflate(piece, fin, room);
    // RFC 7692 §7.1.1: without context takeover the next message starts from
    // an empty window. The backend orders this after a pending async call.
    if (fin && this.inflateReset) inflater.reset();
    return out;
  }

  /** Whether a message of `size` bytes is worth compressing (the threshold). */
  shouldCompress(size: number): boolean {
    return size >= this.threshold;
  }

  /**
   * Compress one piece of a message to send (RFC 7692 §7.2.1): each piece is
   * sync-flushed so it can go out at once; `fin` ends the message and strips
   * its trailing 00 00 ff ff.
   */
  deflate(data: Uint8Array, fin: boolean): Uint8Array | Promise<Uint8Array> {
    if (this.closed) throw closedError();
    const deflater = (this.deflater ??= this.backend.createDeflater(this.deflateWindowBits, this.level, this.memLevel));
    const out = deflater.deflate(data, fin);
    // RFC 7692 §7.1.1: "<ours>_no_context_takeover" — reset after each message.
    if (fin && this.deflateReset) deflater.reset();
    return out;
  }

  /** Release both streams (pending async calls reject). Idempotent. */
  close(): void {
    this.closed = true;
    this.inflater?.close();
    this.deflater?.close();
    this.inflater = null;
    this.deflater = null;
  }
}

function closedError(): WebSocketError {
  return new WebSocketError('WS_ERR_INTERNAL', 'permessage-deflate codec is closed', 1011);
}

// ---------------------------------------------------------------------------

/** Options of {@link OrderedQueue}. */
export interface OrderedQueueOptions<T> {
  /** Receives each result, in submission order. May push more tasks. */
  deliver(value: T): void;
  /** Called once with the first error (a task's, or one thrown by `deliver`). */
  fail(error: unknown): void;
  /**
   * Most bytes (as declared by `push`) waiting or running at once. A task that
   * would pass it is refused, unless the queue is empty. Default 16 MiB.
   */
  maxQueuedBytes?: number;
}

interface QueuedTask<T> {
  run: () => T | Promise<T>;
  bytes: number;
}

/**
 * Runs tasks one at a time in submission order and hands their results to
 * `deliver` in that order (DESIGN hard rule 4: order by an explicit queue,
 * never by promise timing).
 *
 * Hot path: when the queue is idle and a task returns synchronously, it runs
 * and is delivered inside `push` — no promise hop. A task that returns a
 * `Promise` makes later tasks wait until it settles. `deliver` is never
 * re-entered: results pushed from inside it are delivered after it returns.
 *
 * The first failure stops the queue: `fail` is called once, waiting tasks are
 * dropped and later pushes refused.
 *
 * @example
 * ```ts
 * const q = new OrderedQueue<Uint8Array[]>({ deliver: (chunks) => emit(chunks), fail: (e) => abort(e) });
 * while (!q.push(() => codec.inflate(piece, fin, size), piece.length)) await q.drained();
 * ```
 */
export class OrderedQueue<T> {
  private readonly tasks: QueuedTask<T>[] = [];
  private readonly deliverFn: (value: T) => void;
  private readonly failFn: (error: unknown) => void;
  private readonly limit: number;
  private bytes = 0;
  /** A task's promise is pending. */
  private running = false;
  /** Inside the run/deliver loop (guards re-entrant pushes). */
  private pumping = false;
  private stopped = false;
  private waiters: (() => void)[] = [];

  constructor(options: OrderedQueueOptions<T>) {
    this.deliverFn = options.deliver;
    this.failFn = options.fail;
    this.limit = options.maxQueuedBytes ?? 16 * 1024 * 1024;
    if (!(this.limit >= 0)) throw new RangeError(`maxQueuedBytes must be ≥ 0, got ${this.limit}`);
  }

  /** Bytes declared by tasks not yet delivered. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Tasks waiting or running. */
  get size(): number {
    return this.tasks.length + (this.running ? 1 : 0);
  }

  /** Nothing waiting or running. */
  get idle(): boolean {
    return !this.running && this.tasks.length === 0;
  }

  /** Stopped by a failure or by `close()`. */
  get closed(): boolean {
    return this.stopped;
  }

  /**
   * Submit a task. `bytes` counts against `maxQueuedBytes` until its result
   * is delivered. Returns false, queuing nothing, when the limit would be
   * passed (wait for {@link drained}) or the queue is closed.
   */
  push(task: () => T | Promise<T>, bytes = 0): boolean {
    if (this.stopped) return false;
    if (!this.idle && this.bytes + bytes > this.limit) return false;
    this.tasks.push({ run: task, bytes });
    this.bytes += bytes;
    this.pump();
    return true;
  }

  /** Resolves once nothing is waiting or running (or the queue is closed). */
  drained(): Promise<void> {
    if (this.idle || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stop: drop waiting tasks and ignore the result of a running one. */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.tasks.length = 0;
    this.bytes = 0;
    this.wake();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.running && !this.stopped && this.tasks.length > 0) {
        const task = this.tasks.shift() as QueuedTask<T>;
        let result: T | Promise<T>;
        try {
          result = task.run();
        } catch (err) {
          this.failWith(err);
          return;
        }
        if (result instanceof Promise) {
          this.running = true;
          result.then(
            (value: T) => this.settled(task, value),
            (err: unknown) => {
              this.running = false;
              this.failWith(err);
            },
          );
          return;
        }
        this.bytes -= task.bytes;
        this.deliverFn(result);
      }
    } catch (err) {
      // deliver threw
      this.failWith(err);
      return;
    } finally {
      this.pumping = false;
    }
    if (this.idle) this.wake();
  }

  private settled(task: QueuedTask<T>, value: T): void {
    this.running = false;
    if (this.stopped) return;
    this.bytes -= task.bytes;
    this.pumping = true;
    try {
      this.deliverFn(value);
    } catch (err) {
      this.pumping = false;
      this.failWith(err);
      return;
    }
    this.pumping = false;
    this.pump();
  }

  private failWith(err: unknown): void {
    if (this.stopped) return;
    this.close();
    this.failFn(err);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
