/**
 * The callee role: REGISTER/UNREGISTER, INVOCATION → YIELD/ERROR, with
 * progressive call results (YIELD progress), progressive call invocations
 * (chunks as an async iterable), INTERRUPT as an AbortSignal, callee-side
 * timeouts, pattern-based and shared registration, registration revocation
 * and payload passthru (advanced profile, RPC).
 *
 * @module
 */
import { ApplicationError, WampSessionError } from '../application-error.js';
import {
  MessageType,
  type ErrorMessage,
  type InterruptMessage,
  type InvocationMessage,
  type UnregisteredMessage,
  type WampMessage,
  type WampPayload,
} from '../messages.js';
import { emptyComponentsForMatch, isValidUri, type WampDict, type WampList } from '../uri.js';
import { handled, payloadOf, toApplicationError, wireOptions } from './caller.js';
import type { PendingRequest, SessionCore, SessionPart } from './core.js';
import { BoundedQueue } from './queue.js';
import {
  InvocationResult,
  type InvocationChunk,
  type InvocationDetails,
  type InvocationHandler,
  type ProgressOptions,
  type RegisterOptions,
} from './types.js';

const LOCAL_REGISTER_KEYS = new Set(['onRevoke']);
const LOCAL_YIELD_KEYS = new Set(['payload']);
/** Progressive invocations recently finished, whose late chunks are dropped ("Progressive Call Invocations"). */
const RECENT_PROGRESSIVE_LIMIT = 1024;

/** One registration of ours, as the application holds it. */
export class Registration {
  /** @internal */
  unregistering: Promise<void> | null = null;
  private isActive = true;

  /** @internal */
  constructor(
    private readonly callee: Callee,
    /** REGISTERED.Registration. */
    readonly id: number,
    /** The procedure URI (or pattern) registered. */
    readonly procedure: string,
    /** REGISTER.Options as sent. */
    readonly options: Readonly<WampDict>,
    /** @internal */
    readonly handler: InvocationHandler,
    /** @internal */
    readonly onRevoke: ((reason: string | undefined) => void) | undefined,
  ) {}

  /** `false` once unregistered, revoked, or the session ended. */
  get active(): boolean {
    return this.isActive;
  }

  /** @internal */
  deactivate(): void {
    this.isActive = false;
  }

  /**
   * Unregisters. Resolves when the router confirmed (at once when no longer
   * active); running invocations finish normally. Rejects with an
   * {@link ApplicationError} when the router refuses.
   */
  unregister(): Promise<void> {
    return this.callee.unregister(this);
  }
}

interface Invocation {
  readonly id: number;
  readonly registration: Registration;
  readonly procedure: string;
  /**
   * Created when the handler first reads `details.signal` (an AbortController
   * per invocation was the largest JS cost of a callee at one call in flight,
   * bench:wamp); `abortedWith` remembers an abort that came before.
   */
  controller: AbortController | null;
  abortedWith: WampSessionError | null;
  readonly input: BoundedQueue<InvocationChunk> | null;
  finalSeen: boolean;
  done: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The prototype of invocation details: `signal` is a getter that makes the
 * invocation's AbortController on first read (already aborted if the
 * invocation was). A class, so details stay a fast object.
 */
class LazySignal {
  readonly #inv: Invocation;
  constructor(inv: Invocation) {
    this.#inv = inv;
  }
  get signal(): AbortSignal {
    const inv = this.#inv;
    if (!inv.controller) {
      inv.controller = new AbortController();
      if (inv.abortedWith) inv.controller.abort(inv.abortedWith);
    }
    return inv.controller.signal;
  }
}

function chunkOf(msg: InvocationMessage): InvocationChunk {
  const c: InvocationChunk = { args: msg.args ?? [], kwargs: msg.kwargs ?? {}, progress: msg.details.progress === true };
  if (msg.payload !== undefined) c.payload = msg.payload;
  return c;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** The callee role of a session. @internal */
export class Callee implements SessionPart {
  private readonly registrations = new Map<number, Registration>();
  private readonly invocations = new Map<number, Invocation>();
  private readonly recentProgressive = new Set<number>();

  constructor(private readonly core: SessionCore) {}

  register(procedure: string, handler: InvocationHandler, options: RegisterOptions): Promise<Registration> {
    const core = this.core;
    try {
      core.ensureOpen();
      if (typeof handler !== 'function') {
        throw new WampSessionError('WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_argument', 'the handler must be a function');
      }
      if (!isValidUri(procedure, { empty: emptyComponentsForMatch(options.match) })) {
        throw new WampSessionError('WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_uri', `invalid procedure URI: ${String(procedure)}`);
      }
      core.checkPendingLimit(MessageType.REGISTER);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const wire = wireOptions(options, LOCAL_REGISTER_KEYS);
    const onRevoke = options.onRevoke;
    return new Promise<Registration>((resolve, reject) => {
      const req: PendingRequest = {
        type: MessageType.REGISTER,
        onReply: (msg: WampMessage) => {
          if (msg.type !== MessageType.REGISTERED) return;
          const reg = new Registration(this, msg.registration, procedure, wire, handler, onRevoke);
          this.registrations.set(reg.id, reg);
          resolve(reg);
        },
        onError: (msg: ErrorMessage) => reject(toApplicationError(msg)),
        onClose: reject,
      };
      const id = core.nextId();
      core.track(id, req);
      try {
        core.send({ type: MessageType.REGISTER, request: id, options: wire, procedure });
      } catch (err) {
        core.untrack(id);
        core.releaseId(id);
        reject(err as Error);
      }
    });
  }

  unregister(reg: Registration): Promise<void> {
    if (!reg.active) return Promise.resolve();
    if (reg.unregistering) return reg.unregistering;
    const core = this.core;
    const gone = (): void => {
      reg.deactivate();
      if (this.registrations.get(reg.id) === reg) this.registrations.delete(reg.id);
    };
    const p = new Promise<void>((resolve, reject) => {
      try {
        core.checkPendingLimit(MessageType.UNREGISTER);
      } catch (err) {
        reject(err as Error);
        return;
      }
      const req: PendingRequest = {
        type: MessageType.UNREGISTER,
        onReply: () => {
          gone();
          resolve();
        },
        onError: (msg: ErrorMessage) => {
          gone();
          // The dealer no longer knows it: what unregister() wanted.
          if (msg.error === 'wamp.error.no_such_registration') resolve();
          else reject(toApplicationError(msg));
        },
        // The session ended: every registration is gone with it.
        onClose: () => resolve(),
      };
      const id = core.nextId();
      core.track(id, req);
      try {
        core.send({ type: MessageType.UNREGISTER, request: id, registration: reg.id });
      } catch (err) {
        core.untrack(id);
        core.releaseId(id);
        reject(err as Error);
      }
    });
    reg.unregistering = p;
    p.then(
      () => {
        reg.unregistering = null;
      },
      () => {
        reg.unregistering = null;
      },
    );
    return p;
  }

  /** UNREGISTERED with request 0: the router revoked a registration (advanced profile, "Registration Revocation"). */
  onRevoked(msg: UnregisteredMessage): void {
    const details = msg.details ?? {};
    const id = details.registration;
    const reg = typeof id === 'number' ? this.registrations.get(id) : undefined;
    if (!reg) return;
    this.registrations.delete(reg.id);
    reg.deactivate();
    if (reg.onRevoke) {
      try {
        reg.onRevoke(typeof details.reason === 'string' ? details.reason : undefined);
      } catch (err) {
        this.core.userError(err, { kind: 'hook', uri: reg.procedure });
      }
    }
  }

  onInvocation(msg: InvocationMessage): void {
    const running = this.invocations.get(msg.request);
    if (running) {
      this.onChunk(running, msg);
      return;
    }
    // A late chunk of a progressive invocation we already answered: drop it.
    if (this.recentProgressive.has(msg.request)) return;
    const reg = this.registrations.get(msg.registration);
    if (!reg) {
      this.answerError(msg.request, 'wamp.error.no_such_registration');
      return;
    }
    if (this.invocations.size >= this.core.limits.maxInvocations) {
      this.answerError(msg.request, 'wamp.error.unavailable');
      return;
    }
    const progressiveInput = msg.details.progress === true;
    const inv: Invocation = {
      id: msg.request,
      registration: reg,
      procedure: typeof msg.details.procedure === 'string' ? msg.details.procedure : reg.procedure,
      controller: null,
      abortedWith: null,
      input: progressiveInput ? new BoundedQueue<InvocationChunk>(this.core.limits.maxBufferedResults) : null,
      finalSeen: !progressiveInput,
      done: false,
      timer: undefined,
    };
    this.invocations.set(inv.id, inv);
    const timeout = msg.details.timeout;
    if (typeof timeout === 'number' && timeout > 0 && Number.isFinite(timeout)) {
      // "Callee-Initiated Timeouts": we announced call_timeout, so we enforce it.
      inv.timer = setTimeout(() => {
        inv.timer = undefined;
        const error = new WampSessionError('WAMP_ERR_TIMEOUT', 'wamp.error.timeout', `invocation timed out after ${timeout} ms`);
        if (this.finish(inv, error)) this.answerError(inv.id, 'wamp.error.timeout');
      }, timeout);
    }
    this.run(inv, msg);
  }

  private run(inv: Invocation, msg: InvocationMessage): void {
    const details = Object.assign(new LazySignal(inv), msg.details, {
      procedure: inv.procedure,
      registration: inv.registration.id,
    }) as unknown as InvocationDetails;
    if (msg.payload !== undefined) details.payload = msg.payload;
    if (msg.details.receive_progress === true) {
      details.sendProgress = (args?: WampList, kwargs?: WampDict, options: ProgressOptions = {}) =>
        this.sendProgress(inv, args, kwargs, options);
    }
    if (inv.input) details.input = inv.input;
    let ret: unknown;
    try {
      ret = inv.registration.handler(msg.args ?? [], msg.kwargs ?? {}, details);
    } catch (err) {
      this.failed(inv, err);
      return;
    }
    if (isThenable(ret)) {
      Promise.resolve(ret).then(
        (value) => this.succeeded(inv, value),
        (err: unknown) => this.failed(inv, err),
      );
    } else {
      this.succeeded(inv, ret);
    }
  }

  private onChunk(inv: Invocation, msg: InvocationMessage): void {
    if (!inv.input || inv.finalSeen) {
      this.core.violation(`INVOCATION repeats the request id ${msg.request} of a running invocation`);
      return;
    }
    const chunk = chunkOf(msg);
    if (!chunk.progress) inv.finalSeen = true;
    const input = inv.input;
    if (!input.isEnded && !input.push(chunk)) {
      const error = new WampSessionError(
        'WAMP_ERR_BUFFER_OVERFLOW',
        'wamp.error.canceled',
        `more than ${this.core.limits.maxBufferedResults} invocation chunks unread; the invocation was canceled`,
      );
      if (this.finish(inv, error)) this.answerError(inv.id, 'wamp.error.canceled');
      return;
    }
    if (inv.finalSeen) input.end();
  }

  private sendProgress(inv: Invocation, args: WampList | undefined, kwargs: WampDict | undefined, options: ProgressOptions): Promise<void> {
    if (inv.done || !this.core.isOpen) return Promise.resolve();
    const payload = payloadOf(this.core, 'dealer', args, kwargs, options);
    const yieldOptions = { ...wireOptions(options, LOCAL_YIELD_KEYS), progress: true };
    this.core.send({ type: MessageType.YIELD, request: inv.id, options: yieldOptions, ...payload });
    return handled(this.core.waitWritable());
  }

  /** Marks the invocation over; false when it already was. */
  private finish(inv: Invocation, abortWith?: WampSessionError): boolean {
    if (inv.done) return false;
    inv.done = true;
    clearTimeout(inv.timer);
    this.invocations.delete(inv.id);
    if (inv.input) {
      this.recentProgressive.add(inv.id);
      if (this.recentProgressive.size > RECENT_PROGRESSIVE_LIMIT) {
        const oldest = this.recentProgressive.values().next().value as number;
        this.recentProgressive.delete(oldest);
      }
      inv.input.end(abortWith);
    }
    if (abortWith) {
      inv.abortedWith = abortWith;
      inv.controller?.abort(abortWith);
    }
    return true;
  }

  private succeeded(inv: Invocation, value: unknown): void {
    if (inv.done) return;
    let payload: WampPayload;
    let options: WampDict = {};
    try {
      if (value instanceof InvocationResult) {
        options = wireOptions(value.options, LOCAL_YIELD_KEYS);
        payload =
          value.options.payload !== undefined
            ? payloadOf(this.core, 'dealer', undefined, undefined, value.options)
            : payloadOf(this.core, 'dealer', value.args, value.kwargs, {});
      } else {
        payload = value === undefined ? {} : { args: [value] };
      }
    } catch (err) {
      this.failed(inv, err);
      return;
    }
    this.finish(inv);
    try {
      this.core.send({ type: MessageType.YIELD, request: inv.id, options, ...payload });
    } catch (err) {
      if (!this.core.isOpen) return;
      this.core.userError(err, { kind: 'invocation', uri: inv.procedure });
      this.answerError(inv.id, 'wamp.error.runtime_error');
    }
  }

  private failed(inv: Invocation, err: unknown): void {
    if (inv.done) return;
    this.finish(inv);
    if (err instanceof ApplicationError) {
      const msg: WampMessage = {
        type: MessageType.ERROR,
        requestType: MessageType.INVOCATION,
        request: inv.id,
        details: err.details,
        error: err.uri,
        ...(err.payload !== undefined ? { payload: err.payload } : { args: err.args, kwargs: err.kwargs }),
      };
      try {
        this.core.send(msg);
        return;
      } catch (sendErr) {
        if (!this.core.isOpen) return;
        this.core.userError(sendErr, { kind: 'invocation', uri: inv.procedure });
        this.answerError(inv.id, 'wamp.error.runtime_error');
        return;
      }
    }
    this.core.userError(err, { kind: 'invocation', uri: inv.procedure });
    const args = this.core.discloseErrors ? [err instanceof Error ? err.message : String(err)] : undefined;
    this.answerError(inv.id, 'wamp.error.runtime_error', args);
  }

  private answerError(request: number, uri: string, args?: WampList): void {
    if (!this.core.isOpen) return;
    this.core.trySend({
      type: MessageType.ERROR,
      requestType: MessageType.INVOCATION,
      request,
      details: {},
      error: uri,
      ...(args ? { args } : {}),
    });
  }

  /** INTERRUPT: the caller canceled (or the dealer timed out) the invocation (advanced profile, "Call Canceling"). */
  onInterrupt(msg: InterruptMessage): void {
    const inv = this.invocations.get(msg.request);
    if (!inv) return; // already answered: the INTERRUPT crossed our YIELD
    const mode = typeof msg.options.mode === 'string' ? msg.options.mode : 'kill';
    const reason = typeof msg.options.reason === 'string' && isValidUri(msg.options.reason) ? msg.options.reason : 'wamp.error.canceled';
    const error = new WampSessionError('WAMP_ERR_CANCELED', reason, `the invocation was interrupted (mode ${mode})`);
    this.finish(inv, error);
    // With killnowait the dealer ignores any answer; otherwise it waits for ours.
    if (mode !== 'killnowait') this.answerError(inv.id, 'wamp.error.canceled');
  }

  onSessionEnd(error: WampSessionError): void {
    for (const inv of [...this.invocations.values()]) this.finish(inv, error);
    for (const reg of this.registrations.values()) reg.deactivate();
    this.registrations.clear();
  }
}
