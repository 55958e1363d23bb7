/**
 * The caller role: CALL → RESULT/ERROR, with progressive call results,
 * progressive call invocations, call canceling (CANCEL), call timeouts,
 * caller identification and payload passthru (advanced profile, RPC).
 *
 * @module
 */
import { ApplicationError, WampSessionError } from '../application-error.js';
import { MessageType, type ErrorMessage, type ResultMessage, type WampMessage, type WampPayload } from '../messages.js';
import { isValidUri, type WampDict, type WampList } from '../uri.js';
import type { PendingRequest, SessionCore } from './core.js';
import { BoundedQueue } from './queue.js';
import type { CallOptions, CallResult, CancelMode, OpenCallOptions } from './types.js';

/** CallOptions keys that act locally and never go on the wire. */
const LOCAL_CALL_KEYS = new Set(['signal', 'cancelMode', 'onProgress', 'payload']);
const PPT_KEYS = ['ppt_scheme', 'ppt_serializer', 'ppt_cipher', 'ppt_keyid'] as const;

/** Copies the wire options: everything given except local keys and undefined values. */
export function wireOptions(options: object, local: ReadonlySet<string>): WampDict {
  const out: WampDict = {};
  for (const [k, v] of Object.entries(options)) if (v !== undefined && !local.has(k)) out[k] = v;
  return out;
}

/** The passthru attributes of `options` (sent with every progressive chunk: the router needs them to read a binary payload). */
function pptOptions(options: WampDict): WampDict {
  const out: WampDict = {};
  for (const k of PPT_KEYS) if (options[k] !== undefined) out[k] = options[k];
  return out;
}

/** A RESULT as a {@link CallResult}. */
export function toCallResult(msg: ResultMessage): CallResult {
  const r: CallResult = {
    args: msg.args ?? [],
    kwargs: msg.kwargs ?? {},
    details: msg.details,
    progress: msg.details.progress === true,
  };
  if (msg.payload !== undefined) r.payload = msg.payload;
  return r;
}

/** An ERROR as an {@link ApplicationError}. */
export function toApplicationError(msg: ErrorMessage): ApplicationError {
  return new ApplicationError(msg.error, msg.args ?? [], msg.kwargs ?? {}, {
    details: msg.details,
    ...(msg.payload !== undefined ? { payload: msg.payload } : {}),
  });
}

/** Checks a payload (args/kwargs or passthru) against the options and the router's features. */
export function payloadOf(
  core: SessionCore,
  role: 'broker' | 'dealer',
  args: WampList | undefined,
  kwargs: WampDict | undefined,
  options: { payload?: Uint8Array; ppt_scheme?: string },
): WampPayload {
  if (options.payload !== undefined) {
    if (!(options.payload instanceof Uint8Array) || typeof options.ppt_scheme !== 'string') {
      throw new WampSessionError(
        'WAMP_ERR_INVALID_ARGUMENT',
        'wamp.error.invalid_argument',
        'a passthru payload must be a Uint8Array and needs ppt_scheme',
      );
    }
    if (args !== undefined || kwargs !== undefined) {
      throw new WampSessionError('WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_argument', 'a passthru payload replaces args and kwargs');
    }
    // "Payload Passthru Mode": sending it to a router that did not announce it is a protocol error.
    if (!core.supports(role, 'payload_passthru_mode')) {
      throw new WampSessionError(
        'WAMP_ERR_FEATURE_NOT_SUPPORTED',
        'wamp.error.feature_not_supported',
        `the ${role} does not support payload passthru mode`,
      );
    }
    return { payload: options.payload };
  }
  const p: WampPayload = {};
  if (args !== undefined) {
    if (!Array.isArray(args)) throw new WampSessionError('WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_argument', 'args must be an array');
    p.args = args;
  }
  if (kwargs !== undefined) {
    if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
      throw new WampSessionError('WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_argument', 'kwargs must be a plain object');
    }
    p.kwargs = kwargs;
  }
  return p;
}

/** Throws `WAMP_ERR_INVALID_ARGUMENT` for a URI that is not valid (loose rules). */
export function checkUri(uri: unknown, what: string): asserts uri is string {
  if (!isValidUri(uri)) {
    throw new WampSessionError('WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_uri', `invalid ${what} URI: ${String(uri)}`);
  }
}

/** Marks a promise as handled (its rejection is delivered elsewhere too) and returns it. */
export function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

type CallState = 'new' | 'open' | 'sent' | 'done';

/** One call, from its first CALL to its final RESULT or ERROR. @internal */
export class PendingCall implements PendingRequest {
  readonly type = MessageType.CALL;
  readonly result: Promise<CallResult>;
  id = 0;
  state: CallState = 'new';
  /** Settled locally (canceled, timed out) while the router still owes the answer. */
  abandoned = false;
  private resolve!: (r: CallResult) => void;
  private reject!: (e: Error) => void;
  private readonly wire: WampDict;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private abortCleanup: (() => void) | null = null;
  private readonly cancelMode: CancelMode;

  constructor(
    private readonly core: SessionCore,
    readonly procedure: string,
    options: OpenCallOptions,
    private readonly onProgress: ((r: CallResult) => void) | null,
    private readonly onEnd: ((error?: Error) => void) | null = null,
  ) {
    this.result = handled(
      new Promise<CallResult>((resolve, reject) => {
        this.resolve = resolve;
        this.reject = reject;
      }),
    );
    this.wire = wireOptions(options, LOCAL_CALL_KEYS);
    // CALL.Options.timeout is an integer number of ms on the wire (routers abort
    // the session otherwise); a fractional timeout is rounded up, never down.
    if (typeof this.wire.timeout === 'number' && Number.isFinite(this.wire.timeout)) this.wire.timeout = Math.ceil(this.wire.timeout);
    if (onProgress) this.wire.receive_progress = true;
    const mode = options.cancelMode;
    this.cancelMode = mode === 'skip' || mode === 'kill' || mode === 'killnowait' ? mode : 'killnowait';
  }

  /** Validation before anything is sent; throws a {@link WampSessionError}. */
  check(options: OpenCallOptions): void {
    this.core.ensureOpen();
    checkUri(this.procedure, 'procedure');
    this.core.checkPendingLimit(MessageType.CALL);
    const t = options.timeout;
    if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t) || t < 0)) {
      throw new WampSessionError('WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_argument', 'timeout must be a number of ms >= 0');
    }
    if (options.signal?.aborted) throw canceled(options.signal.reason);
  }

  /** Starts the local timer and the AbortSignal listener. */
  arm(options: OpenCallOptions): void {
    const t = options.timeout;
    if (typeof t === 'number' && t > 0) {
      // When the dealer enforces the timeout itself its answer should win; ours is the fallback.
      const ms = t + (this.core.supports('dealer', 'call_timeout') ? this.core.timeoutGrace : 0);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.cancel(
          'killnowait',
          new WampSessionError('WAMP_ERR_TIMEOUT', 'wamp.error.timeout', `call to ${this.procedure} timed out after ${t} ms`),
          false,
        );
      }, ms);
    }
    const signal = options.signal;
    if (signal) {
      const onAbort = (): void => this.cancel(this.cancelMode, canceled(signal.reason), this.cancelMode === 'kill');
      signal.addEventListener('abort', onAbort, { once: true });
      this.abortCleanup = () => signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Sends one CALL: the first carries every option; continuation chunks of a
   * progressive call invocation carry only `progress` (advanced profile,
   * "Freezing of Options") and the passthru attributes.
   * @throws {@link WampSessionError}
   */
  sendChunk(payload: WampPayload, progress: boolean): void {
    const first = this.state === 'new';
    let options: WampDict;
    if (first) options = progress ? { ...this.wire, progress: true } : this.wire;
    else options = progress ? { progress: true, ...pptOptions(this.wire) } : pptOptions(this.wire);
    const id = first ? this.core.nextId() : this.id;
    const msg: WampMessage = { type: MessageType.CALL, request: id, options, procedure: this.procedure, ...payload };
    if (first) this.core.track(id, this);
    try {
      this.core.send(msg);
    } catch (err) {
      if (first) {
        this.core.untrack(id);
        this.core.releaseId(id);
      }
      throw err;
    }
    this.id = id;
    this.state = progress ? 'open' : 'sent';
  }

  onReply(msg: WampMessage): void {
    if (msg.type !== MessageType.RESULT) return;
    const progress = msg.details.progress === true;
    if (this.abandoned || this.state === 'done') {
      if (!progress) this.cleanup();
      return;
    }
    if (progress) {
      // "Progressive Call Results": only sent to a caller that asked for them.
      if (!this.onProgress) {
        this.core.violation(`progressive RESULT for call ${msg.request}, which did not ask for progressive results`);
        return;
      }
      this.onProgress(toCallResult(msg));
      return;
    }
    this.settle(toCallResult(msg));
  }

  onError(msg: ErrorMessage): void {
    if (this.abandoned || this.state === 'done') {
      this.cleanup();
      return;
    }
    this.settle(toApplicationError(msg));
  }

  onClose(error: WampSessionError): void {
    if (this.state === 'done') {
      this.cleanup();
      return;
    }
    this.settle(error);
  }

  /**
   * Cancels the call (advanced profile, "Call Canceling"). With `waitForRouter`
   * (mode `kill` on a dealer that cancels) the call settles with the dealer's
   * answer; otherwise it rejects with `error` now, and the dealer's answer,
   * when it comes, is dropped.
   */
  cancel(mode: CancelMode, error: WampSessionError, waitForRouter: boolean): void {
    if (this.state === 'done' || this.abandoned) return;
    if (this.state === 'new') {
      this.settle(error);
      return;
    }
    const canCancel = this.core.supports('dealer', 'call_canceling');
    if (canCancel) this.core.trySend({ type: MessageType.CANCEL, request: this.id, options: { mode } });
    if (waitForRouter && canCancel) return;
    this.abandoned = true;
    this.finish(error);
  }

  /** Settles with a result or an error, once. */
  settle(outcome: CallResult | Error): void {
    if (this.state === 'done') return;
    this.finish(outcome);
    this.cleanup();
  }

  private finish(outcome: CallResult | Error): void {
    this.state = 'done';
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abortCleanup?.();
    this.abortCleanup = null;
    if (outcome instanceof Error) {
      this.reject(outcome);
      this.onEnd?.(outcome);
    } else {
      this.resolve(outcome);
      this.onEnd?.();
    }
  }

  private cleanup(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abortCleanup?.();
    this.abortCleanup = null;
  }
}

function canceled(reason: unknown): WampSessionError {
  return new WampSessionError('WAMP_ERR_CANCELED', 'wamp.error.canceled', 'the call was canceled', { cause: reason });
}

/**
 * A call whose progressive results are read as an async iterable (advanced
 * profile, "Progressive Call Results"): iterate for the progressive results,
 * await {@link ProgressiveCall.result} for the final one. Results wait in a
 * bounded buffer (`maxBufferedResults`); when the reader falls that far
 * behind, the call is canceled and the iteration throws
 * `WAMP_ERR_BUFFER_OVERFLOW`. Leaving the loop early (`break`) cancels the call.
 */
export class ProgressiveCall implements AsyncIterable<CallResult> {
  /** The final result (rejects like `Session.call`). */
  readonly result: Promise<CallResult>;
  /** @internal */
  private readonly queue: BoundedQueue<CallResult>;
  /** @internal */
  private readonly call: PendingCall | null;

  /** @internal */
  constructor(core: SessionCore, procedure: string, args: WampList | undefined, kwargs: WampDict | undefined, options: CallOptions) {
    const queue = new BoundedQueue<CallResult>(core.limits.maxBufferedResults, () => this.cancel());
    this.queue = queue;
    let call: PendingCall | null = null;
    const onProgress = (r: CallResult): void => {
      if (queue.push(r)) return;
      const error = new WampSessionError(
        'WAMP_ERR_BUFFER_OVERFLOW',
        'wamp.error.canceled',
        `more than ${core.limits.maxBufferedResults} progressive results unread; the call was canceled`,
      );
      call?.cancel('killnowait', error, false);
    };
    call = new PendingCall(core, procedure, options, onProgress, (error) => queue.end(error));
    this.call = call;
    this.result = call.result;
    try {
      call.check(options);
      call.sendChunk(payloadOf(core, 'dealer', args, kwargs, options), false);
      call.arm(options);
    } catch (err) {
      call.settle(err as Error);
    }
  }

  /** Cancels the call (default mode `killnowait`); the iteration and `result` reject with `WAMP_ERR_CANCELED`. */
  cancel(mode: CancelMode = 'killnowait'): void {
    this.call?.cancel(mode, canceled(undefined), false);
  }

  [Symbol.asyncIterator](): AsyncIterator<CallResult> {
    return this.queue[Symbol.asyncIterator]();
  }

  /**
   * The progressive results as a `ReadableStream` (pulled from the same
   * bounded buffer; canceling the stream cancels the call). Use either this
   * or the async iterator, once.
   */
  toReadableStream(): ReadableStream<CallResult> {
    const it = this[Symbol.asyncIterator]();
    return new ReadableStream<CallResult>(
      {
        async pull(controller) {
          const r = await it.next();
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        },
        async cancel() {
          await it.return?.();
        },
      },
      { highWaterMark: 0 },
    );
  }
}

/**
 * A call that sends its input in chunks (advanced profile, "Progressive Call
 * Invocations"): {@link OutgoingCall.send} sends a progressive CALL,
 * {@link OutgoingCall.end} the final one and returns the result. All chunks
 * share one request id; the options of the first CALL hold for all.
 */
export class OutgoingCall {
  /** The call's result (settles after `end()`, or earlier if the callee answers or fails early). */
  readonly result: Promise<CallResult>;
  private ended = false;

  /** @internal */
  constructor(
    private readonly core: SessionCore,
    private readonly call: PendingCall,
    private readonly options: OpenCallOptions,
  ) {
    this.result = call.result;
    try {
      call.check(options);
      call.arm(options);
    } catch (err) {
      call.settle(err as Error);
    }
  }

  /** Whether the call is over (result or error); further `send()` calls are dropped. */
  get done(): boolean {
    return this.call.state === 'done' || this.call.abandoned;
  }

  /**
   * Sends one progressive chunk. Resolves `true` once the transport can take
   * more (backpressure), `false` when the call is already over (see
   * {@link OutgoingCall.result}). Rejects with a {@link WampSessionError} when the dealer does
   * not support progressive call invocations, after `end()`, or when the values
   * cannot be serialized.
   */
  send(args?: WampList, kwargs?: WampDict, options: { payload?: Uint8Array } = {}): Promise<boolean> {
    if (this.ended) {
      return Promise.reject(new WampSessionError('WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_argument', 'send() after end()'));
    }
    if (this.done) return Promise.resolve(false);
    try {
      if (!this.core.supports('dealer', 'progressive_call_invocations')) {
        const error = new WampSessionError(
          'WAMP_ERR_FEATURE_NOT_SUPPORTED',
          'wamp.error.feature_not_supported',
          'the dealer does not support progressive call invocations',
        );
        if (this.call.state === 'new') this.call.settle(error);
        throw error;
      }
      this.call.sendChunk(payloadOf(this.core, 'dealer', args, kwargs, { ...this.options, ...options }), true);
    } catch (err) {
      // Nothing reached the dealer yet: the call is over before it began.
      if (this.call.state === 'new' && !(err instanceof WampSessionError && err.code === 'WAMP_ERR_INVALID_ARGUMENT')) {
        this.call.settle(err as Error);
      }
      return Promise.reject(err as Error);
    }
    return this.core.waitWritable().then(() => true);
  }

  /** Sends the final chunk and returns {@link OutgoingCall.result}. */
  end(args?: WampList, kwargs?: WampDict, options: { payload?: Uint8Array } = {}): Promise<CallResult> {
    if (this.ended || this.done) return this.result;
    this.ended = true;
    try {
      this.call.sendChunk(payloadOf(this.core, 'dealer', args, kwargs, { ...this.options, ...options }), false);
    } catch (err) {
      this.call.cancel('killnowait', err as WampSessionError, false);
    }
    return this.result;
  }

  /** Cancels the call (default mode `killnowait`). */
  cancel(mode: CancelMode = 'killnowait'): void {
    this.call.cancel(mode, canceled(undefined), false);
  }
}

/** The caller role of a session. @internal */
export class Caller {
  constructor(private readonly core: SessionCore) {}

  call(procedure: string, args: WampList | undefined, kwargs: WampDict | undefined, options: CallOptions): Promise<CallResult> {
    const core = this.core;
    const hook = options.onProgress;
    const onProgress = hook
      ? (r: CallResult): void => {
          try {
            hook(r);
          } catch (err) {
            core.userError(err, { kind: 'progress', uri: procedure });
          }
        }
      : null;
    const call = new PendingCall(core, procedure, options, onProgress);
    try {
      call.check(options);
      call.sendChunk(payloadOf(core, 'dealer', args, kwargs, options), false);
      call.arm(options);
    } catch (err) {
      call.settle(err as Error);
    }
    return call.result;
  }

  callProgressive(procedure: string, args: WampList | undefined, kwargs: WampDict | undefined, options: CallOptions): ProgressiveCall {
    return new ProgressiveCall(this.core, procedure, args, kwargs, options);
  }

  openCall(procedure: string, options: OpenCallOptions): OutgoingCall {
    const core = this.core;
    const hook = options.onProgress;
    const onProgress = hook
      ? (r: CallResult): void => {
          try {
            hook(r);
          } catch (err) {
            core.userError(err, { kind: 'progress', uri: procedure });
          }
        }
      : null;
    return new OutgoingCall(core, new PendingCall(core, procedure, options, onProgress), options);
  }
}
