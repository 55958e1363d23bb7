/**
 * The reconnecting WAMP client: connects over one of several transports,
 * joins a realm, (re)declares registrations and subscriptions, runs the
 * application's `onJoin`, and reconnects with backoff when the connection is
 * lost — until stopped, refused for good, or out of retries.
 *
 * The run is one async loop over explicit states (no timing races): attempt →
 * joined → session ended → wait → attempt …; `stop()` only sets a flag, aborts
 * what is in flight and wakes the loop, which then ends the run in one place.
 *
 * @module
 */
import { WampSessionError } from '../application-error.js';
import { RetryPolicy } from '../retry.js';
import { Session } from '../session/session.js';
import type {
  EventHandler,
  InvocationHandler,
  JoinOptions,
  LeaveInfo,
  RegisterOptions,
  SubscribeOptions,
  UserErrorContext,
} from '../session/types.js';
import type { WampTransport } from '../transport.js';
import { ComponentError, isFatalComponentError } from './errors.js';
import { defaultTransportConnector, describeTransport, type TransportSpec } from './transports.js';
import type {
  ComponentEvents,
  ComponentOptions,
  ComponentState,
  ComponentStopInfo,
  ComponentTimers,
  DisconnectInfo,
} from './types.js';

const DEFAULT_CONNECT_TIMEOUT = 15_000;

const GLOBAL_TIMERS: ComponentTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

type Listener<K extends keyof ComponentEvents> = (...args: ComponentEvents[K]) => void;
type AnyListener = (...args: unknown[]) => void;

/** The outcome of one attempt on one transport. */
type Attempt = { session: Session } | { error: Error };

/**
 * A WAMP client that stays connected: Autobahn's `Component`, in TypeScript.
 *
 * Behaviour, in order:
 *
 * 1. **Connect.** Tries `transports` in order. After a failure it tries the
 *    next transport right away; once every transport failed in a round it
 *    waits the {@link RetryPolicy} delay (`retry`, Autobahn's names and
 *    defaults) and starts a new round. Each round after the first counts as
 *    one retry against `max_retries`. After a session was lost it reconnects
 *    first to the transport that last worked.
 * 2. **Join** with the options given (authenticators, authid, authrole, …).
 *    A refusal that retrying cannot fix — `wamp.error.no_such_realm`,
 *    `authentication_failed`, `not_authorized`, … (see `isFatal`,
 *    {@link isFatalComponentError}) — stops the component with that error;
 *    anything else (no connection, timeout, transport lost) is retried.
 * 3. **Declare** the `registrations` and `subscriptions` on the new session,
 *    every time, before `onJoin` runs. If one is refused the session leaves
 *    and the attempt counts as failed (retried with backoff, so
 *    `max_retries` bounds it; fatal when the router says `not_authorized`
 *    or `invalid_uri`). `onJoin` is never called for such a session.
 * 4. **Run** `onJoin(session)` (state `joined`). The retry policy is reset.
 * 5. **Reconnect** when the router or the transport ends the session:
 *    `onLeave`, then `onDisconnect` with the delay, then back to 1. The
 *    component stops instead when *we* ended it: `stop()` (reason
 *    `stopped`) or the application calling `session.leave()` (reason
 *    `left`, as Autobahn|Python's component finishes when its session
 *    leaves).
 *
 * `start()` resolves with the first session once it joined and `onJoin`
 * settled, and rejects if the component stops before it ever joined.
 * {@link done} resolves (never rejects) when the run is over. A component
 * runs once: create a new one to run again.
 *
 * @example
 * ```ts
 * const [client, server] = createLocalTransportPair();
 * // A scripted router: WELCOME, REGISTERED, then answer GOODBYE.
 * server.open({
 *   onMessage(msg) {
 *     if (msg.type === 1) server.send({ type: 2, session: 7, details: { roles: { dealer: {} } } });
 *     if (msg.type === 64) server.send({ type: 65, request: msg.request, registration: 1 });
 *     if (msg.type === 6) server.send({ type: 6, details: {}, reason: 'wamp.close.goodbye_and_out' });
 *   },
 *   onProtocolError() {},
 *   onClose() {},
 * });
 * const component = new Component({
 *   transports: [async () => client],
 *   realm: 'realm1',
 *   registrations: { 'com.example.add': (args) => Number(args[0]) + Number(args[1]) },
 * });
 * const session = await component.start();
 * console.assert(session.id === 7 && component.state === 'joined');
 * const info = await component.stop();
 * console.assert(info.reason === 'stopped');
 * ```
 */
export class Component {
  /** @internal */
  private readonly options: ComponentOptions;
  /** @internal */
  private readonly transports: readonly TransportSpec[];
  /** @internal */
  private readonly policy: RetryPolicy;
  /** @internal */
  private readonly timers: ComponentTimers;
  /** @internal */
  private readonly isFatal: (error: Error) => boolean;
  /** @internal */
  private readonly listeners = new Map<keyof ComponentEvents, Set<AnyListener>>();
  /** @internal */
  private currentState: ComponentState = 'idle';
  /** @internal */
  private current: Session | null = null;
  /** @internal */
  private stopRequested = false;
  /** @internal */
  private readonly abort = new AbortController();
  /** @internal */
  private wake: (() => void) | null = null;
  /** @internal */
  private startPromise: Promise<Session> | null = null;
  /** @internal */
  private settleStart: { resolve: (s: Session) => void; reject: (e: Error) => void } | null = null;
  /** @internal */
  private readonly donePromise: Promise<ComponentStopInfo>;
  /** @internal */
  private resolveDone!: (info: ComponentStopInfo) => void;
  /** @internal */
  private index = 0;

  /**
   * @param options - transports, realm, authentication, retry, declarations, hooks
   * @throws {RangeError} when there is no transport or a retry setting is invalid
   */
  constructor(options: ComponentOptions) {
    if (!options || !Array.isArray(options.transports) || options.transports.length === 0) {
      throw new RangeError('Component: options.transports needs at least one transport');
    }
    for (const [i, t] of options.transports.entries()) {
      const ok = typeof t === 'function' || (typeof t === 'object' && t !== null && ('url' in t || 'rawsocket' in t));
      if (!ok) throw new RangeError(`Component: transports[${i}] is neither a factory nor a descriptor`);
    }
    this.options = options;
    this.transports = [...options.transports];
    this.policy = new RetryPolicy(options.retry, options.random);
    this.timers = options.timers ?? GLOBAL_TIMERS;
    this.isFatal = options.isFatal ?? isFatalComponentError;
    this.donePromise = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  // ------------------------------------------------------------ properties

  /** Where the component is (see {@link ComponentState}). */
  get state(): ComponentState {
    return this.currentState;
  }

  /** The joined session, or `null` between sessions. */
  get session(): Session | null {
    return this.current && this.current.isOpen ? this.current : null;
  }

  /** Resolves (never rejects) with how the run ended. */
  get done(): Promise<ComponentStopInfo> {
    return this.donePromise;
  }

  // -------------------------------------------------------------- control

  /**
   * Starts the component. Resolves with the first session once it joined,
   * its declarations are in place and `onJoin` settled; rejects when the
   * component stops before it ever joined (the fatal error, a
   * {@link ComponentError} `COMPONENT_ERR_RETRIES_EXHAUSTED` or
   * `COMPONENT_ERR_STOPPED`). Calling it again returns the same promise.
   */
  start(): Promise<Session> {
    if (this.startPromise) return this.startPromise;
    if (this.currentState === 'stopped') {
      // Stopped before it was ever started.
      this.startPromise = Promise.reject(stoppedError());
      this.startPromise.catch(() => {});
      return this.startPromise;
    }
    this.startPromise = new Promise<Session>((resolve, reject) => {
      this.settleStart = { resolve, reject };
    });
    // The loop reports through hooks and `done`; an ignored start() promise must not become an unhandled rejection.
    this.startPromise.catch(() => {});
    void this.run().catch((err: unknown) => {
      // The loop catches everything it awaits; this is the last line of defence.
      this.finish({ reason: 'fatal', error: err instanceof Error ? err : new Error(String(err)) });
    });
    return this.startPromise;
  }

  /**
   * Stops for good: no more reconnects; a joined session leaves with
   * GOODBYE (`reason`, default `wamp.close.normal`), an attempt in flight is
   * aborted, a backoff wait ends. Resolves with {@link done}'s value once the
   * session is closed.
   */
  stop(reason = 'wamp.close.normal'): Promise<ComponentStopInfo> {
    if (this.currentState === 'stopped') return this.donePromise;
    if (!this.stopRequested) {
      this.stopRequested = true;
      if (this.currentState === 'idle') {
        this.finish({ reason: 'stopped' });
        return this.donePromise;
      }
      this.setState('stopping');
      this.abort.abort(new ComponentError('COMPONENT_ERR_STOPPED', 'wamp.error.canceled', 'the component was stopped'));
      this.wake?.();
      const s = this.current;
      if (s?.isOpen) void s.leave(reason);
    }
    return this.donePromise;
  }

  /**
   * Listens to an event: `state`, `join`, `leave`, `disconnect`,
   * `connectfailure`, `stop` (the same as the `on…` hooks of the options,
   * which run first). A listener that throws goes to `onUserError`.
   *
   * @returns a function that removes the listener
   */
  on<K extends keyof ComponentEvents>(event: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as AnyListener);
    return () => {
      set.delete(listener as AnyListener);
    };
  }

  // ------------------------------------------------------------- the loop

  /** @internal */
  private async run(): Promise<void> {
    const n = this.transports.length;
    let failedInRound = 0;
    for (;;) {
      if (this.stopRequested) return this.finish({ reason: 'stopped' });
      const outcome = await this.attempt(this.index);
      if (this.stopRequested) {
        if ('session' in outcome) await outcome.session.closed;
        return this.finish({ reason: 'stopped' });
      }

      if ('error' in outcome) {
        const error = outcome.error;
        if (this.isFatalSafe(error)) {
          this.emit('connectfailure', error, null);
          return this.finish({ reason: 'fatal', error });
        }
        this.index = (this.index + 1) % n;
        failedInRound++;
        if (failedInRound < n) {
          this.emit('connectfailure', error, 0);
          continue;
        }
        failedInRound = 0;
        const delay = this.policy.nextDelay();
        this.emit('connectfailure', error, delay);
        if (delay === null) return this.finish({ reason: 'retries_exhausted', error: this.exhausted(error) });
        await this.sleep(delay);
        continue;
      }

      // Joined and declared.
      const session = outcome.session;
      this.policy.reset();
      failedInRound = 0;
      this.current = session;
      this.setState('joined');
      this.emit('join', session);
      void this.runOnJoin(session);
      const info = await session.closed;
      this.current = null;
      // start() waits for onJoin, but not beyond the session's end.
      this.settleStart?.resolve(session);
      this.settleStart = null;
      this.emit('leave', info);
      if (this.stopRequested) {
        this.emit('disconnect', { leave: info, willReconnect: false });
        return this.finish({ reason: 'stopped' });
      }
      if (endedByUs(info)) {
        this.emit('disconnect', { leave: info, willReconnect: false });
        return this.finish({ reason: 'left' });
      }
      const delay = this.policy.nextDelay();
      const disconnect: DisconnectInfo = delay === null ? { leave: info, willReconnect: false } : { leave: info, willReconnect: true, delay };
      this.emit('disconnect', disconnect);
      if (delay === null) {
        return this.finish({ reason: 'retries_exhausted', error: this.exhausted(info.error ?? new Error(`the session ended: ${info.reason}`)) });
      }
      await this.sleep(delay);
    }
  }

  /** Connects, joins and declares on transport `i`. Never rejects. @internal */
  private async attempt(i: number): Promise<Attempt> {
    const spec = this.transports[i] as TransportSpec;
    this.setState('connecting');
    let transport: WampTransport;
    try {
      transport = await this.openTransport(spec, i);
    } catch (err) {
      return { error: asError(err) };
    }
    if (this.stopRequested) {
      closeQuietly(transport);
      return { error: stoppedError() };
    }
    this.setState('joining');
    let session: Session;
    try {
      session = await Session.join(transport, this.options.realm, this.joinOptions());
    } catch (err) {
      return { error: asError(err) };
    }
    if (this.stopRequested) {
      this.current = session;
      void session.leave();
      return { session };
    }
    this.current = session;
    const failure = await this.declare(session);
    if (failure) {
      this.current = null;
      await session.leave('wamp.close.normal', failure.message);
      return { error: failure };
    }
    return { session };
  }

  /** Opens one transport, bounded by `connectTimeout` and the component's abort. @internal */
  private openTransport(spec: TransportSpec, i: number): Promise<WampTransport> {
    const ms = positive(this.options.connectTimeout, DEFAULT_CONNECT_TIMEOUT);
    const attempt = new AbortController();
    const onStop = (): void => attempt.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    return new Promise<WampTransport>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        this.timers.clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', onStop);
        fn();
      };
      const timer = this.timers.setTimeout(() => {
        const err = new ComponentError(
          'COMPONENT_ERR_CONNECT_TIMEOUT',
          'wamp.error.timeout',
          `${describeTransport(spec, i)}: not connected within ${ms} ms`,
        );
        settle(() => reject(err));
        attempt.abort(err); // tell the factory to give up
      }, ms);
      const onAbortWhileWaiting = (): void => settle(() => reject(stoppedError()));
      attempt.signal.addEventListener('abort', onAbortWhileWaiting, { once: true });
      let opening: Promise<WampTransport>;
      try {
        opening =
          typeof spec === 'function'
            ? spec(attempt.signal)
            : (this.options.connect ?? defaultTransportConnector)(spec, attempt.signal);
      } catch (err) {
        settle(() => reject(err));
        return;
      }
      Promise.resolve(opening).then(
        (t) => {
          if (settled) closeQuietly(t); // too late: timed out or stopped
          else settle(() => resolve(t));
        },
        (err: unknown) => settle(() => reject(err)),
      );
    });
  }

  /** @internal */
  private joinOptions(): JoinOptions {
    const {
      transports: _t,
      realm: _r,
      retry: _re,
      registrations: _reg,
      subscriptions: _sub,
      onJoin: _j,
      onLeave: _l,
      onDisconnect: _d,
      onConnectFailure: _c,
      onStateChange: _s,
      onStop: _st,
      isFatal: _f,
      connect: _co,
      connectTimeout: _ct,
      timers: _ti,
      random: _ra,
      ...join
    } = this.options;
    return { ...join, signal: this.abort.signal };
  }

  /** Registers and subscribes the declared URIs; returns the first failure. @internal */
  private async declare(session: Session): Promise<Error | null> {
    const work: Promise<unknown>[] = [];
    const what: string[] = [];
    for (const [uri, decl] of Object.entries(this.options.registrations ?? {})) {
      const { handler, options } = split<InvocationHandler, RegisterOptions>(decl);
      work.push(session.register(uri, handler, options));
      what.push(`register ${uri}`);
    }
    for (const [uri, decl] of Object.entries(this.options.subscriptions ?? {})) {
      const { handler, options } = split<EventHandler, SubscribeOptions>(decl);
      work.push(session.subscribe(uri, handler, options));
      what.push(`subscribe to ${uri}`);
    }
    if (work.length === 0) return null;
    const results = await Promise.allSettled(work);
    for (const [k, r] of results.entries()) {
      if (r.status === 'fulfilled') continue;
      const err = asError(r.reason);
      if (err instanceof WampSessionError && err.code === 'WAMP_ERR_SESSION_CLOSED') return err; // the session went away: a lost transport
      const maybeUri = (err as { uri?: unknown }).uri;
      const uri = typeof maybeUri === 'string' ? maybeUri : 'wamp.error.runtime_error';
      return new ComponentError('COMPONENT_ERR_DECLARATION', uri, `could not ${what[k]}: ${err.message}`, err);
    }
    return null;
  }

  /** @internal */
  private async runOnJoin(session: Session): Promise<void> {
    try {
      await this.options.onJoin?.(session);
    } catch (err) {
      this.userError(err);
    }
    this.settleStart?.resolve(session);
    this.settleStart = null;
  }

  /** Waits `ms`, or less when stopped. @internal */
  private sleep(ms: number): Promise<void> {
    this.setState('waiting');
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.timers.clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = this.timers.setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** Ends the run (once). @internal */
  private finish(info: ComponentStopInfo): void {
    if (this.currentState === 'stopped') return;
    this.current = null;
    this.setState('stopped');
    const start = this.settleStart;
    this.settleStart = null;
    if (start) {
      start.reject(
        info.reason === 'stopped' || info.reason === 'left'
          ? stoppedError()
          : (info.error ?? new ComponentError('COMPONENT_ERR_STOPPED', 'wamp.error.canceled', 'the component stopped')),
      );
    }
    this.emit('stop', info);
    this.resolveDone(info);
  }

  /** @internal */
  private exhausted(last: Error): ComponentError {
    const tries = this.policy.settings.max_retries;
    return new ComponentError(
      'COMPONENT_ERR_RETRIES_EXHAUSTED',
      'wamp.close.transport_lost',
      `gave up after ${tries} ${tries === 1 ? 'retry' : 'retries'}: ${last.message}`,
      last,
    );
  }

  /** @internal */
  private isFatalSafe(error: Error): boolean {
    if (error instanceof ComponentError && error.code === 'COMPONENT_ERR_STOPPED') return false;
    try {
      return this.isFatal(error);
    } catch (err) {
      this.userError(err);
      return isFatalComponentError(error);
    }
  }

  /** @internal */
  private setState(state: ComponentState): void {
    const previous = this.currentState;
    if (previous === state || previous === 'stopped') return;
    // Once stopping, only the end is reported.
    if (previous === 'stopping' && state !== 'stopped') return;
    this.currentState = state;
    this.emit('state', state, previous);
  }

  /** Runs the option hook, then the listeners; errors go to onUserError. @internal */
  private emit<K extends keyof ComponentEvents>(event: K, ...args: ComponentEvents[K]): void {
    const hook = this.hookFor(event);
    if (hook) {
      try {
        (hook as AnyListener)(...args);
      } catch (err) {
        this.userError(err);
      }
    }
    const set = this.listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        l(...args);
      } catch (err) {
        this.userError(err);
      }
    }
  }

  /** @internal */
  private hookFor(event: keyof ComponentEvents): ((...args: never[]) => void) | undefined {
    const o = this.options;
    switch (event) {
      case 'state':
        return o.onStateChange;
      case 'join':
        return undefined; // onJoin is awaited separately (runOnJoin)
      case 'leave':
        return o.onLeave;
      case 'disconnect':
        return o.onDisconnect;
      case 'connectfailure':
        return o.onConnectFailure;
      case 'stop':
        return o.onStop;
    }
  }

  /** @internal */
  private userError(error: unknown): void {
    const context: UserErrorContext = { kind: 'hook' };
    const hook = this.options.onUserError;
    if (hook) {
      try {
        hook(error, context);
        return;
      } catch (hookError) {
        console.error('autostrada: onUserError threw', hookError);
      }
    }
    console.error('autostrada: a Component hook threw', error);
  }
}

/** Whether we ended the session ourselves (leave(), not a protocol violation). */
function endedByUs(info: LeaveInfo): boolean {
  if (info.initiator !== 'local') return false;
  const code = (info.error as { code?: unknown } | undefined)?.code;
  return code !== 'WAMP_ERR_PROTOCOL_VIOLATION';
}

function split<H, O>(decl: H | { handler: H; options?: O }): { handler: H; options: O | undefined } {
  if (typeof decl === 'function') return { handler: decl, options: undefined };
  const d = decl as { handler: H; options?: O };
  return { handler: d.handler, options: d.options };
}

function stoppedError(): ComponentError {
  return new ComponentError('COMPONENT_ERR_STOPPED', 'wamp.error.canceled', 'the component was stopped');
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function closeQuietly(t: WampTransport): void {
  try {
    t.close(1000, '');
  } catch {
    // best effort
  }
}

function positive(n: number | undefined, fallback: number): number {
  return typeof n === 'number' && n > 0 && Number.isFinite(n) ? n : fallback;
}
