/**
 * The WAMP client session (basic and advanced profile, client roles caller,
 * callee, publisher, subscriber) over any {@link WampTransport}.
 *
 * @module
 */
import { WampSessionError } from '../application-error.js';
import { MessageType, type WampMessage } from '../messages.js';
import type { WampTransport } from '../transport.js';
import { isValidUri, type WampDict, type WampList } from '../uri.js';
import { Callee, type Registration } from './callee.js';
import { Caller, type OutgoingCall, type ProgressiveCall } from './caller.js';
import { SessionCore } from './core.js';
import { MetaApi, type TestamentOptions, type TestamentScope } from './meta.js';
import { PubSub, type Subscription } from './pubsub.js';
import type {
  CallOptions,
  CallResult,
  EventHandler,
  InvocationHandler,
  JoinOptions,
  LeaveInfo,
  OpenCallOptions,
  Publication,
  PublishOptions,
  RegisterOptions,
  RouterFeatures,
  SubscribeOptions,
} from './types.js';

/**
 * A WAMP session joined to a realm: call and register procedures, publish and
 * subscribe to topics. Create one with {@link Session.join}.
 *
 * Every promise it returns settles: requests in flight reject with a
 * {@link WampSessionError} when the session ends; errors from the router
 * arrive as {@link ApplicationError}s. Errors thrown by handlers it runs go to
 * `onUserError`, never into the void.
 *
 * @example
 * ```ts
 * const [client, server] = createLocalTransportPair();
 * // A scripted router: WELCOME, then answer one CALL and the GOODBYE.
 * server.open({
 *   onMessage(msg) {
 *     if (msg.type === 1) server.send({ type: 2, session: 42, details: { roles: { dealer: {} } } });
 *     if (msg.type === 48) server.send({ type: 50, request: msg.request, details: {}, args: [(msg.args![0] as number) * 2] });
 *     if (msg.type === 6) server.send({ type: 6, details: {}, reason: 'wamp.close.goodbye_and_out' });
 *   },
 *   onProtocolError() {},
 *   onClose() {},
 * });
 * const session = await Session.join(client, 'realm1');
 * const result = await session.call('com.example.double', [21]);
 * console.assert(result.args[0] === 42);
 * await session.leave();
 * ```
 */
export class Session {
  /** The router's meta procedures and testaments, typed. */
  readonly meta: MetaApi;
  /** @internal */
  private readonly core: SessionCore;
  /** @internal */
  private readonly caller: Caller;
  /** @internal */
  private readonly callee: Callee;
  /** @internal */
  private readonly pubsub: PubSub;

  private constructor(core: SessionCore) {
    this.core = core;
    this.caller = new Caller(core);
    this.callee = new Callee(core);
    this.pubsub = new PubSub(core);
    core.parts.push(this.callee, this.pubsub);
    core.onRouterMessage = (msg: WampMessage) => this.dispatch(msg);
    this.meta = new MetaApi((procedure, args, kwargs) => this.call(procedure, args, kwargs));
  }

  /**
   * Opens `transport`, sends HELLO for `realm` and resolves once the router
   * sent WELCOME (after authentication, when the router asks for it).
   *
   * Rejects with a {@link WampSessionError} — and closes the transport — when
   * the router answers ABORT (`code` `WAMP_ERR_JOIN_ABORTED`, `uri` the reason,
   * e.g. `wamp.error.no_such_realm`, `wamp.error.authentication_failed`), when
   * we cannot authenticate (`WAMP_ERR_AUTHENTICATION`), on timeout
   * (`WAMP_ERR_TIMEOUT`), abort (`WAMP_ERR_CANCELED`), a protocol violation by
   * the router, or when the transport closes first.
   *
   * @param transport - an unopened transport (the session owns it from now on)
   * @param realm - the realm URI
   * @param options - authentication, roles, timeouts, limits, hooks
   */
  static async join(transport: WampTransport, realm: string, options: JoinOptions = {}): Promise<Session> {
    if (!isValidUri(realm)) {
      try {
        transport.close(1000, '');
      } catch {
        // best effort
      }
      throw new WampSessionError('WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_uri', `invalid realm URI: ${String(realm)}`);
    }
    const core = new SessionCore(transport, realm, options);
    const session = new Session(core);
    await core.join();
    return session;
  }

  /** @internal */
  private dispatch(msg: WampMessage): void {
    switch (msg.type) {
      case MessageType.EVENT:
        this.pubsub.onEvent(msg);
        return;
      case MessageType.INVOCATION:
        this.callee.onInvocation(msg);
        return;
      case MessageType.INTERRUPT:
        this.callee.onInterrupt(msg);
        return;
      case MessageType.UNREGISTERED:
        this.callee.onRevoked(msg);
        return;
      case MessageType.UNSUBSCRIBED:
        this.pubsub.onRevoked(msg);
        return;
      default:
        return;
    }
  }

  // ------------------------------------------------------------ properties

  /** The session ID (WELCOME.Session). */
  get id(): number {
    return this.core.welcome?.session ?? 0;
  }

  /** The realm joined (WELCOME.Details.realm when the router says, else the one asked for). */
  get realm(): string {
    const r = this.details.realm;
    return typeof r === 'string' ? r : this.core.realm;
  }

  /** WELCOME.Details as received. */
  get details(): WampDict {
    return this.core.welcome?.details ?? {};
  }

  /** WELCOME.Details.authid. */
  get authid(): string | undefined {
    return str(this.details.authid);
  }

  /** WELCOME.Details.authrole. */
  get authrole(): string | undefined {
    return str(this.details.authrole);
  }

  /** WELCOME.Details.authmethod. */
  get authmethod(): string | undefined {
    return str(this.details.authmethod);
  }

  /** WELCOME.Details.authprovider. */
  get authprovider(): string | undefined {
    return str(this.details.authprovider);
  }

  /** WELCOME.Details.authextra. */
  get authextra(): WampDict | undefined {
    const v = this.details.authextra;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as WampDict) : undefined;
  }

  /** The router's roles and their features (WELCOME.Details.roles). */
  get features(): RouterFeatures {
    return this.core.features;
  }

  /** Whether the router announced `feature` for `role`, e.g. `supports('dealer', 'call_canceling')`. */
  supports(role: 'broker' | 'dealer', feature: string): boolean {
    return this.core.supports(role, feature);
  }

  /** `true` while the session is established (not leaving, not closed). */
  get isOpen(): boolean {
    return this.core.isOpen;
  }

  /** Resolves (never rejects) with how the session ended. */
  get closed(): Promise<LeaveInfo> {
    return this.core.closed;
  }

  // --------------------------------------------------------------- leaving

  /**
   * Leaves the realm: GOODBYE, wait for the router's GOODBYE (at most
   * `leaveTimeout`), close the transport. Requests still in flight reject with
   * `WAMP_ERR_SESSION_CLOSED`. Resolves with {@link Session.closed}'s value;
   * calling it again (or after the session ended) just returns that.
   *
   * @param reason - GOODBYE.Reason, default `wamp.close.normal` (also used in place of an invalid URI)
   * @param message - GOODBYE.Details.message
   */
  leave(reason = 'wamp.close.normal', message?: string): Promise<LeaveInfo> {
    return this.core.leave(isValidUri(reason) ? reason : 'wamp.close.normal', message);
  }

  // ------------------------------------------------------------------- RPC

  /**
   * Calls a procedure. Resolves with the final result; rejects with an
   * {@link ApplicationError} (the callee's or the dealer's error) or a
   * {@link WampSessionError} (timeout, cancel, session closed, limits).
   * With `options.onProgress` it receives progressive results on the way.
   */
  call(procedure: string, args?: WampList, kwargs?: WampDict, options: CallOptions = {}): Promise<CallResult> {
    return this.caller.call(procedure, args, kwargs, options);
  }

  /**
   * Calls a procedure and reads its progressive results as an async iterable;
   * the final result is {@link ProgressiveCall.result}.
   */
  callProgressive(procedure: string, args?: WampList, kwargs?: WampDict, options: CallOptions = {}): ProgressiveCall {
    return this.caller.callProgressive(procedure, args, kwargs, options);
  }

  /**
   * Starts a call whose input is sent in chunks (progressive call
   * invocations): `send()` each chunk, `end()` the last; needs a dealer that
   * announces `progressive_call_invocations`.
   */
  openCall(procedure: string, options: OpenCallOptions = {}): OutgoingCall {
    return this.caller.openCall(procedure, options);
  }

  /**
   * Registers a procedure. Resolves with the {@link Registration} once the
   * dealer confirmed; rejects with an {@link ApplicationError} when it refuses
   * (e.g. `wamp.error.procedure_already_exists`).
   */
  register(procedure: string, handler: InvocationHandler, options: RegisterOptions = {}): Promise<Registration> {
    return this.callee.register(procedure, handler, options);
  }

  /** Unregisters (same as `registration.unregister()`). */
  unregister(registration: Registration): Promise<void> {
    return registration.unregister();
  }

  // ---------------------------------------------------------------- PubSub

  /**
   * Publishes an event. Unacknowledged (default): resolves `undefined` once
   * handed to the transport and the transport is below its high-water mark.
   * With `acknowledge: true`: resolves with the {@link Publication}, or rejects
   * with the broker's {@link ApplicationError}.
   */
  publish(topic: string, args: WampList | undefined, kwargs: WampDict | undefined, options: PublishOptions & { acknowledge: true }): Promise<Publication>;
  publish(topic: string, args?: WampList, kwargs?: WampDict, options?: PublishOptions): Promise<Publication | undefined>;
  publish(topic: string, args?: WampList, kwargs?: WampDict, options: PublishOptions = {}): Promise<Publication | undefined> {
    return this.pubsub.publish(topic, args, kwargs, options);
  }

  /** Subscribes to a topic. Resolves with the {@link Subscription} once the broker confirmed. */
  subscribe(topic: string, handler: EventHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    return this.pubsub.subscribe(topic, handler, options);
  }

  /** Unsubscribes (same as `subscription.unsubscribe()`). */
  unsubscribe(subscription: Subscription): Promise<void> {
    return subscription.unsubscribe();
  }

  // ------------------------------------------------------------ testaments

  /** Adds a testament (`wamp.session.add_testament`): an event the router publishes when this session goes away. */
  addTestament(topic: string, args?: WampList, kwargs?: WampDict, options?: TestamentOptions): Promise<void> {
    return this.meta.addTestament(topic, args, kwargs, options);
  }

  /** Removes this session's testaments of a scope (`wamp.session.flush_testaments`). */
  flushTestaments(scope?: TestamentScope): Promise<void> {
    return this.meta.flushTestaments(scope);
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
