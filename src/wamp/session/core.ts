/**
 * The engine of a client session: joins (HELLO, CHALLENGE/AUTHENTICATE,
 * WELCOME or ABORT), dispatches every message by session state and type,
 * tracks requests by id, enforces the protocol, and ends the session exactly
 * once (GOODBYE handshake, ABORT, transport loss). The RPC and PubSub parts
 * (caller.ts, callee.ts, pubsub.ts) plug into it.
 *
 * @module
 * @internal
 */
import type { ChallengeResponse, ClientAuthenticator } from '../auth/types.js';
import { WampSessionError, type WampSessionErrorCode } from '../application-error.js';
import { WampProtocolError } from '../errors.js';
import {
  MESSAGE_TYPE_NAMES,
  MessageType,
  type AbortMessage,
  type ChallengeMessage,
  type ErrorMessage,
  type GoodbyeMessage,
  type WampMessage,
  type WelcomeMessage,
} from '../messages.js';
import { SerializationError } from '../serializers/types.js';
import type { WampTransport, WampTransportCloseInfo, WampTransportHandler } from '../transport.js';
import { MAX_WAMP_ID, isDict, type WampDict } from '../uri.js';
import type { JoinOptions, LeaveInfo, RouterFeatures, SessionLimits, UserErrorContext } from './types.js';

/** Request types a router answers (with a reply or an ERROR). */
export type RequestType =
  | typeof MessageType.CALL
  | typeof MessageType.REGISTER
  | typeof MessageType.UNREGISTER
  | typeof MessageType.SUBSCRIBE
  | typeof MessageType.UNSUBSCRIBE
  | typeof MessageType.PUBLISH;

/** One request in flight, keyed by its request id. */
export interface PendingRequest {
  readonly type: RequestType;
  /** The router's reply (RESULT, REGISTERED, ...). */
  onReply(msg: WampMessage): void;
  /** The router's ERROR for this request. */
  onError(msg: ErrorMessage): void;
  /** The session ended first. */
  onClose(error: WampSessionError): void;
}

/** What the RPC and PubSub parts hear about the session's end. */
export interface SessionPart {
  /** The session is ending (leave started, abort, transport lost). */
  onSessionEnd(error: WampSessionError): void;
}

/** The reply message type → the request type it answers. */
const REPLY_TO: ReadonlyMap<number, RequestType> = new Map<number, RequestType>([
  [MessageType.RESULT, MessageType.CALL],
  [MessageType.REGISTERED, MessageType.REGISTER],
  [MessageType.UNREGISTERED, MessageType.UNREGISTER],
  [MessageType.SUBSCRIBED, MessageType.SUBSCRIBE],
  [MessageType.UNSUBSCRIBED, MessageType.UNSUBSCRIBE],
  [MessageType.PUBLISHED, MessageType.PUBLISH],
]);

/** Defaults of {@link SessionLimits}. */
export const DEFAULT_SESSION_LIMITS: Readonly<Required<SessionLimits>> = Object.freeze({
  maxPendingCalls: 10_000,
  maxPendingRequests: 10_000,
  maxInvocations: 10_000,
  maxBufferedResults: 1000,
  writeHighWaterMark: 1024 * 1024,
});

const DEFAULT_JOIN_TIMEOUT = 10_000;
const DEFAULT_LEAVE_TIMEOUT = 5000;
const WRITABLE_POLL_MS = 10;

/** Announced in HELLO.Details.roles: exactly the features this session implements. */
export function defaultRoles(): WampDict {
  const passthru = { payload_passthru_mode: true };
  return {
    caller: {
      features: {
        progressive_call_results: true,
        progressive_call_invocations: true,
        call_canceling: true,
        call_timeout: true,
        caller_identification: true,
        ...passthru,
      },
    },
    callee: {
      features: {
        progressive_call_results: true,
        progressive_call_invocations: true,
        call_canceling: true,
        call_timeout: true,
        caller_identification: true,
        pattern_based_registration: true,
        shared_registration: true,
        registration_revocation: true,
        ...passthru,
      },
    },
    publisher: {
      features: {
        publisher_identification: true,
        subscriber_blackwhite_listing: true,
        publisher_exclusion: true,
        ...passthru,
      },
    },
    subscriber: {
      features: {
        publisher_identification: true,
        pattern_based_subscription: true,
        subscription_revocation: true,
        ...passthru,
      },
    },
  };
}

function positive(n: number | undefined, fallback: number): number {
  return typeof n === 'number' && n > 0 && Number.isFinite(n) ? n : fallback;
}

type State = 'idle' | 'joining' | 'established' | 'leaving' | 'closed';

/** @internal */
export class SessionCore implements WampTransportHandler {
  state: State = 'idle';
  readonly limits: Readonly<Required<SessionLimits>>;
  readonly discloseErrors: boolean;
  readonly timeoutGrace: number;
  /** Set by WELCOME. */
  welcome: WelcomeMessage | null = null;
  features: RouterFeatures = {};
  /** The RPC/PubSub parts, told when the session ends. */
  readonly parts: SessionPart[] = [];
  readonly closed: Promise<LeaveInfo>;

  pendingCalls = 0;
  pendingRequests = 0;
  private readonly pending = new Map<number, PendingRequest>();
  private lastId = 0;
  private resolveClosed!: (info: LeaveInfo) => void;
  private leaveInfo: LeaveInfo | null = null;
  private leaveTimer: ReturnType<typeof setTimeout> | undefined;
  private writers: (() => void)[] = [];
  private writablePoll: ReturnType<typeof setInterval> | undefined;

  // Join state.
  private joinSettle: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private joinTimer: ReturnType<typeof setTimeout> | undefined;
  private joinAbortCleanup: (() => void) | null = null;
  private answering = false;
  private answeredBy: ClientAuthenticator | null = null;

  constructor(
    readonly transport: WampTransport,
    readonly realm: string,
    readonly options: JoinOptions,
  ) {
    this.limits = {
      maxPendingCalls: positive(options.maxPendingCalls, DEFAULT_SESSION_LIMITS.maxPendingCalls),
      maxPendingRequests: positive(options.maxPendingRequests, DEFAULT_SESSION_LIMITS.maxPendingRequests),
      maxInvocations: positive(options.maxInvocations, DEFAULT_SESSION_LIMITS.maxInvocations),
      maxBufferedResults: positive(options.maxBufferedResults, DEFAULT_SESSION_LIMITS.maxBufferedResults),
      writeHighWaterMark: positive(options.writeHighWaterMark, DEFAULT_SESSION_LIMITS.writeHighWaterMark),
    };
    this.discloseErrors = options.discloseErrors === true;
    this.timeoutGrace = typeof options.timeoutGrace === 'number' && options.timeoutGrace >= 0 ? options.timeoutGrace : 1000;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  // -------------------------------------------------------------- services

  get isOpen(): boolean {
    return this.state === 'established';
  }

  /** Throws unless the session is established. */
  ensureOpen(): void {
    if (this.state !== 'established') throw this.closedError();
  }

  /** The error for operations on a session that is not (or no longer) established. */
  closedError(): WampSessionError {
    const info = this.leaveInfo;
    if (info?.error instanceof WampSessionError) return info.error;
    const reason = info?.reason ?? 'wamp.close.normal';
    return new WampSessionError(
      'WAMP_ERR_SESSION_CLOSED',
      reason,
      this.state === 'leaving' ? `the session is leaving (${reason})` : `the session is closed (${reason})`,
    );
  }

  /** Next session-scope request id: sequential from 1, wrapping after 2^53 (basic profile, "IDs"). */
  nextId(): number {
    this.lastId = this.lastId >= MAX_WAMP_ID ? 1 : this.lastId + 1;
    return this.lastId;
  }

  /**
   * Gives back the id just taken when its message could not be sent, so the
   * router still sees a gapless sequence (a gap is a protocol violation).
   */
  releaseId(id: number): void {
    if (id === this.lastId) this.lastId = id === 1 ? 0 : id - 1;
  }

  /**
   * Sends a message.
   * @throws {@link WampSessionError} `WAMP_ERR_SERIALIZATION` (a value the
   *   serializer cannot represent), `WAMP_ERR_INVALID_ARGUMENT` (an invalid
   *   message, e.g. a bad URI), `WAMP_ERR_SESSION_CLOSED`.
   */
  send(msg: WampMessage): void {
    if (!this.transport.isOpen) throw this.closedError();
    try {
      this.transport.send(msg);
    } catch (err) {
      throw sendError(err, msg);
    }
  }

  /** Sends and forgets (ABORT, GOODBYE, ERROR answers): failures are of no further use. */
  trySend(msg: WampMessage): boolean {
    try {
      this.send(msg);
      return true;
    } catch {
      return false;
    }
  }

  /** Tracks a request sent with `id` until its reply or ERROR. */
  track(id: number, req: PendingRequest): void {
    this.pending.set(id, req);
    if (req.type === MessageType.CALL) this.pendingCalls++;
    else this.pendingRequests++;
  }

  /** Stops tracking (the request failed before it was sent). */
  untrack(id: number): void {
    const req = this.pending.get(id);
    if (!req) return;
    this.pending.delete(id);
    if (req.type === MessageType.CALL) this.pendingCalls--;
    else this.pendingRequests--;
  }

  /** Throws `WAMP_ERR_TOO_MANY_PENDING` when another request of this kind would pass the limit. */
  checkPendingLimit(type: RequestType): void {
    if (type === MessageType.CALL) {
      if (this.pendingCalls >= this.limits.maxPendingCalls) {
        throw new WampSessionError(
          'WAMP_ERR_TOO_MANY_PENDING',
          'wamp.error.unavailable',
          `too many calls in flight (maxPendingCalls ${this.limits.maxPendingCalls})`,
        );
      }
    } else if (this.pendingRequests >= this.limits.maxPendingRequests) {
      throw new WampSessionError(
        'WAMP_ERR_TOO_MANY_PENDING',
        'wamp.error.unavailable',
        `too many requests in flight (maxPendingRequests ${this.limits.maxPendingRequests})`,
      );
    }
  }

  /** Whether the router announced `feature` for `role` in WELCOME.Details.roles. */
  supports(role: 'broker' | 'dealer', feature: string): boolean {
    return this.features[role]?.[feature] === true;
  }

  /** Reports an error thrown by application code; never throws, never silent. */
  userError(error: unknown, context: UserErrorContext): void {
    const hook = this.options.onUserError;
    if (hook) {
      try {
        hook(error, context);
        return;
      } catch (hookError) {
        console.error('autostrada: onUserError threw', hookError);
      }
    }
    console.error(`autostrada: ${context.kind} handler${context.uri ? ` for ${context.uri}` : ''} threw`, error);
  }

  /** Resolves when the transport's send buffer is at or below the high-water mark (or the session ended). */
  waitWritable(): Promise<void> {
    if (this.state === 'closed' || this.transport.bufferedAmount <= this.limits.writeHighWaterMark) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.writers.push(resolve);
      // Not every transport emits drain (browsers' WebSocket has no such event): poll too.
      this.writablePoll ??= setInterval(() => this.checkWritable(), WRITABLE_POLL_MS);
    });
  }

  private checkWritable(): void {
    if (this.state !== 'closed' && this.transport.bufferedAmount > this.limits.writeHighWaterMark) return;
    clearInterval(this.writablePoll);
    this.writablePoll = undefined;
    const writers = this.writers;
    this.writers = [];
    for (const w of writers) w();
  }

  /**
   * The router broke the protocol: ABORT with `wamp.error.protocol_violation`,
   * close the transport, fail everything pending (basic profile, "Protocol Errors").
   */
  violation(detail: string): void {
    if (this.state === 'closed') return;
    this.trySend({
      type: MessageType.ABORT,
      details: { message: detail },
      reason: 'wamp.error.protocol_violation',
    });
    const error = new WampSessionError(
      'WAMP_ERR_PROTOCOL_VIOLATION',
      'wamp.error.protocol_violation',
      `the router violated the WAMP protocol: ${detail}`,
    );
    this.end({ reason: 'wamp.error.protocol_violation', message: detail, details: {}, initiator: 'local', error });
  }

  // ------------------------------------------------------------------ join

  /** Sends HELLO and settles when the session is established or refused. */
  join(): Promise<void> {
    const opts = this.options;
    return new Promise<void>((resolve, reject) => {
      this.joinSettle = { resolve, reject };
      if (opts.signal?.aborted) {
        this.failJoin(canceledJoin(opts.signal.reason), 'wamp.error.canceled', false);
        return;
      }
      this.state = 'joining';
      try {
        this.transport.open(this);
      } catch (err) {
        this.failJoin(
          new WampSessionError('WAMP_ERR_INVALID_ARGUMENT', 'wamp.error.invalid_argument', 'the transport is already in use', {
            cause: err,
          }),
          null,
          false,
        );
        return;
      }
      try {
        this.send({ type: MessageType.HELLO, realm: this.realm, details: this.helloDetails() });
      } catch (err) {
        this.failJoin(err instanceof WampSessionError ? err : new WampSessionError('WAMP_ERR_SESSION_CLOSED', 'wamp.close.transport_lost', String(err)), null);
        return;
      }
      const timeout = positive(opts.timeout, DEFAULT_JOIN_TIMEOUT);
      this.joinTimer = setTimeout(() => {
        this.failJoin(
          new WampSessionError('WAMP_ERR_TIMEOUT', 'wamp.error.timeout', `no WELCOME within ${timeout} ms`),
          'wamp.error.timeout',
        );
      }, timeout);
      const signal = opts.signal;
      if (signal) {
        const onAbort = (): void => this.failJoin(canceledJoin(signal.reason), 'wamp.error.canceled');
        signal.addEventListener('abort', onAbort, { once: true });
        this.joinAbortCleanup = () => signal.removeEventListener('abort', onAbort);
      }
    });
  }

  private helloDetails(): WampDict {
    const opts = this.options;
    const auths = opts.authenticators ?? [];
    const details: WampDict = { agent: opts.agent ?? 'autostrada', roles: opts.roles ?? defaultRoles() };
    const methods = opts.authmethods ?? (auths.length > 0 ? auths.map((a) => a.method) : undefined);
    if (methods && methods.length > 0) details.authmethods = [...methods];
    const authid = opts.authid ?? auths.find((a) => a.authid !== undefined)?.authid;
    if (authid !== undefined) details.authid = authid;
    if (opts.authrole !== undefined) details.authrole = opts.authrole;
    let authextra: WampDict | undefined;
    for (const a of auths) if (a.authextra) authextra = { ...authextra, ...a.authextra };
    if (opts.authextra) authextra = { ...authextra, ...opts.authextra };
    if (authextra) details.authextra = authextra;
    if (opts.details) Object.assign(details, opts.details);
    return details;
  }

  private finishJoin(): void {
    clearTimeout(this.joinTimer);
    this.joinTimer = undefined;
    this.joinAbortCleanup?.();
    this.joinAbortCleanup = null;
  }

  /** Fails the join: optional ABORT, close, reject. */
  private failJoin(error: WampSessionError, abortReason: string | null, sendAbort = true): void {
    if (sendAbort && abortReason && this.state === 'joining') {
      this.trySend({ type: MessageType.ABORT, details: { message: error.message }, reason: abortReason });
    }
    this.end({ reason: error.uri, details: error.details, initiator: 'local', error });
  }

  private onJoinMessage(msg: WampMessage): void {
    switch (msg.type) {
      case MessageType.WELCOME:
        this.onWelcome(msg);
        return;
      case MessageType.ABORT:
        this.onJoinAbort(msg);
        return;
      case MessageType.CHALLENGE:
        this.onChallenge(msg);
        return;
      default:
        this.violation(`unexpected ${MESSAGE_TYPE_NAMES[msg.type]} before the session was established`);
    }
  }

  private onWelcome(msg: WelcomeMessage): void {
    if (this.answering) {
      this.violation('WELCOME while the CHALLENGE was being answered');
      return;
    }
    const method = typeof msg.details.authmethod === 'string' ? msg.details.authmethod : undefined;
    const verifier =
      this.answeredBy ?? (this.options.authenticators ?? []).find((a) => a.method === method && a.onWelcome) ?? null;
    if (verifier?.onWelcome) {
      try {
        verifier.onWelcome(msg.details);
      } catch (err) {
        // The router did not prove itself (e.g. a wrong SCRAM server signature):
        // we have not accepted the session, so ABORT rather than GOODBYE.
        this.failJoin(
          new WampSessionError(
            'WAMP_ERR_AUTHENTICATION',
            'wamp.error.authentication_failed',
            `the router failed ${verifier.method} verification`,
            { cause: err },
          ),
          'wamp.error.authentication_failed',
        );
        return;
      }
    }
    this.welcome = msg;
    this.features = routerFeatures(msg.details);
    this.state = 'established';
    const settle = this.joinSettle;
    this.joinSettle = null;
    this.finishJoin();
    settle?.resolve();
  }

  private onJoinAbort(msg: AbortMessage): void {
    const message = typeof msg.details.message === 'string' ? msg.details.message : undefined;
    const error = new WampSessionError(
      'WAMP_ERR_JOIN_ABORTED',
      msg.reason,
      `the router refused to join realm '${this.realm}': ${msg.reason}${message ? ` (${message})` : ''}`,
      { details: msg.details, ...(msg.args ? { args: msg.args } : {}), ...(msg.kwargs ? { kwargs: msg.kwargs } : {}) },
    );
    this.end({ reason: msg.reason, ...(message !== undefined ? { message } : {}), details: msg.details, initiator: 'router', error });
  }

  private onChallenge(msg: ChallengeMessage): void {
    if (this.answering) {
      this.violation('a second CHALLENGE before the first was answered');
      return;
    }
    const auth = (this.options.authenticators ?? []).find((a) => a.method === msg.authMethod);
    const hook = this.options.onChallenge;
    let answer: () => ChallengeResponse | Promise<ChallengeResponse>;
    if (auth) {
      const channel = this.transport.info.channelBinding ? { channelBinding: this.transport.info.channelBinding } : {};
      answer = () => auth.onChallenge(msg.extra, channel);
    } else if (hook) {
      answer = () => hook(msg.authMethod, msg.extra);
    } else {
      this.failJoin(
        new WampSessionError(
          'WAMP_ERR_AUTHENTICATION',
          'wamp.error.cannot_authenticate',
          `the router challenged with '${msg.authMethod}' and no authenticator answers it`,
        ),
        'wamp.error.cannot_authenticate',
      );
      return;
    }
    this.answering = true;
    this.answeredBy = auth ?? null;
    let pending: Promise<ChallengeResponse>;
    try {
      pending = Promise.resolve(answer());
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (response) => {
        this.answering = false;
        if (this.state !== 'joining') return;
        const signature = typeof response === 'string' ? response : response?.signature;
        if (typeof signature !== 'string') {
          this.authFailed(msg.authMethod, new TypeError('the challenge response has no signature string'));
          return;
        }
        const extra = typeof response === 'string' ? {} : (response.extra ?? {});
        if (!this.trySend({ type: MessageType.AUTHENTICATE, signature, extra })) {
          this.authFailed(msg.authMethod, new TypeError('the challenge response could not be sent'));
        }
      },
      (err: unknown) => {
        this.answering = false;
        if (this.state === 'joining') this.authFailed(msg.authMethod, err);
      },
    );
  }

  private authFailed(method: string, cause: unknown): void {
    this.failJoin(
      new WampSessionError('WAMP_ERR_AUTHENTICATION', 'wamp.error.cannot_authenticate', `could not answer the '${method}' challenge`, {
        cause,
      }),
      'wamp.error.cannot_authenticate',
    );
  }

  // ----------------------------------------------------------------- leave

  /** GOODBYE handshake (basic profile, "Session Closing"), bounded by the leave timeout. */
  leave(reason: string, message: string | undefined): Promise<LeaveInfo> {
    if (this.state !== 'established') return this.closed;
    const details: WampDict = message === undefined ? {} : { message };
    if (!this.trySend({ type: MessageType.GOODBYE, details, reason })) {
      this.end({ reason, ...(message !== undefined ? { message } : {}), details: {}, initiator: 'local' });
      return this.closed;
    }
    this.state = 'leaving';
    this.leaveInfo = { reason, ...(message !== undefined ? { message } : {}), details: {}, initiator: 'local' };
    // Nothing more will be answered: fail what is pending now.
    this.failPending(this.closedError());
    const timeout = positive(this.options.leaveTimeout, DEFAULT_LEAVE_TIMEOUT);
    this.leaveTimer = setTimeout(() => {
      const info = this.leaveInfo ?? { reason, details: {}, initiator: 'local' as const };
      this.end({
        ...info,
        error: new WampSessionError('WAMP_ERR_TIMEOUT', 'wamp.error.timeout', `no GOODBYE from the router within ${timeout} ms`),
      });
    }, timeout);
    return this.closed;
  }

  // ---------------------------------------------------------------- ending

  /**
   * Ends the session once: fails everything pending (with `info.error` when
   * it is a session error), tells the parts, closes the transport (unless it
   * is already closed), resolves `closed`.
   */
  end(info: LeaveInfo): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.leaveInfo = info;
    clearTimeout(this.leaveTimer);
    this.finishJoin();
    const error =
      info.error instanceof WampSessionError
        ? info.error
        : new WampSessionError('WAMP_ERR_SESSION_CLOSED', info.reason, `the session closed (${info.reason})`, {
            ...(info.error ? { cause: info.error } : {}),
            details: info.details,
          });
    this.failPending(error);
    this.checkWritable();
    const join = this.joinSettle;
    this.joinSettle = null;
    join?.reject(error);
    if (this.transport.isOpen) {
      try {
        this.transport.close(1000, info.reason.length <= 100 ? info.reason : '');
      } catch {
        // closing is best effort
      }
    }
    this.resolveClosed(info);
    const hook = this.options.onLeave;
    if (hook) {
      try {
        hook(info);
      } catch (err) {
        this.userError(err, { kind: 'hook' });
      }
    }
  }

  private failPending(error: WampSessionError): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.pendingCalls = 0;
    this.pendingRequests = 0;
    for (const p of pending) p.onClose(error);
    for (const part of this.parts) part.onSessionEnd(error);
  }

  // ------------------------------------------------------ transport events

  /** Handles messages of an established session that are not requests' replies. */
  onRouterMessage: (msg: WampMessage) => void = () => {};

  onMessage(msg: WampMessage): void {
    switch (this.state) {
      case 'joining':
        this.onJoinMessage(msg);
        return;
      case 'established':
        this.onEstablished(msg);
        return;
      case 'leaving':
        // "Session Closing": after our GOODBYE only the router's GOODBYE matters.
        if (msg.type === MessageType.GOODBYE || msg.type === MessageType.ABORT) {
          const info = this.leaveInfo ?? { reason: msg.reason, details: {}, initiator: 'local' as const };
          this.end({ ...info, details: msg.details });
        }
        return;
      default:
        return;
    }
  }

  private onEstablished(msg: WampMessage): void {
    switch (msg.type) {
      case MessageType.GOODBYE:
        this.onRouterGoodbye(msg);
        return;
      case MessageType.ABORT: {
        const message = typeof msg.details.message === 'string' ? msg.details.message : undefined;
        this.end({ reason: msg.reason, ...(message !== undefined ? { message } : {}), details: msg.details, initiator: 'router' });
        return;
      }
      case MessageType.ERROR:
        this.onErrorMessage(msg);
        return;
      case MessageType.RESULT:
      case MessageType.REGISTERED:
      case MessageType.SUBSCRIBED:
      case MessageType.PUBLISHED:
        this.onReply(msg, msg.request);
        return;
      case MessageType.UNREGISTERED:
      case MessageType.UNSUBSCRIBED:
        // Request 0 with Details: revocation by the router (advanced profile).
        if (msg.request === 0) this.onRouterMessage(msg);
        else this.onReply(msg, msg.request);
        return;
      case MessageType.EVENT:
      case MessageType.INVOCATION:
      case MessageType.INTERRUPT:
        this.onRouterMessage(msg);
        return;
      default:
        // HELLO, WELCOME, CHALLENGE, AUTHENTICATE and every client-to-router message.
        this.violation(`unexpected ${MESSAGE_TYPE_NAMES[msg.type]} in an established session`);
    }
  }

  private onRouterGoodbye(msg: GoodbyeMessage): void {
    this.trySend({ type: MessageType.GOODBYE, details: {}, reason: 'wamp.close.goodbye_and_out' });
    const message = typeof msg.details.message === 'string' ? msg.details.message : undefined;
    this.end({ reason: msg.reason, ...(message !== undefined ? { message } : {}), details: msg.details, initiator: 'router' });
  }

  private onReply(msg: WampMessage, request: number): void {
    const expected = REPLY_TO.get(msg.type);
    const req = this.pending.get(request);
    if (!req || req.type !== expected) {
      this.violation(`${MESSAGE_TYPE_NAMES[msg.type]} for unknown request ${request}`);
      return;
    }
    // A progressive RESULT keeps the call open.
    const final = !(msg.type === MessageType.RESULT && msg.details.progress === true);
    if (final) this.untrack(request);
    req.onReply(msg);
  }

  private onErrorMessage(msg: ErrorMessage): void {
    const req = this.pending.get(msg.request);
    if (!req || req.type !== msg.requestType) {
      this.violation(`ERROR for unknown ${MESSAGE_TYPE_NAMES[msg.requestType]} request ${msg.request}`);
      return;
    }
    this.untrack(msg.request);
    req.onError(msg);
  }

  onProtocolError(error: WampProtocolError | SerializationError): void {
    this.violation(error instanceof WampProtocolError ? error.detail : error.message);
  }

  onClose(info: WampTransportCloseInfo): void {
    if (this.state === 'closed') return;
    if (this.state === 'leaving' && this.leaveInfo) {
      this.end({ ...this.leaveInfo, transport: info });
      return;
    }
    const error = new WampSessionError(
      'WAMP_ERR_SESSION_CLOSED',
      'wamp.close.transport_lost',
      `the transport closed (${info.code}${info.reason ? ` ${info.reason}` : ''})`,
      info.error ? { cause: info.error } : {},
    );
    this.end({ reason: 'wamp.close.transport_lost', details: {}, initiator: 'transport', transport: info, error });
  }

  onDrain(): void {
    if (this.writers.length > 0) this.checkWritable();
  }
}

function canceledJoin(reason: unknown): WampSessionError {
  return new WampSessionError('WAMP_ERR_CANCELED', 'wamp.error.canceled', 'joining was aborted', { cause: reason });
}

/** WELCOME.Details.roles → the broker/dealer features dicts. */
function routerFeatures(details: WampDict): RouterFeatures {
  const out: RouterFeatures = {};
  const roles = details.roles;
  if (!isDict(roles)) return out;
  for (const role of ['broker', 'dealer'] as const) {
    const r = roles[role];
    if (!isDict(r)) continue;
    out[role] = isDict(r.features) ? r.features : {};
  }
  return out;
}

/** Maps what `transport.send` threw to a session error. */
function sendError(err: unknown, msg: WampMessage): WampSessionError {
  const name = MESSAGE_TYPE_NAMES[msg.type];
  let code: WampSessionErrorCode;
  let uri: string;
  if (err instanceof SerializationError) {
    code = 'WAMP_ERR_SERIALIZATION';
    uri = 'wamp.error.invalid_payload';
  } else if (err instanceof WampProtocolError) {
    code = 'WAMP_ERR_INVALID_ARGUMENT';
    uri = 'wamp.error.invalid_argument';
  } else {
    code = 'WAMP_ERR_SESSION_CLOSED';
    uri = 'wamp.close.transport_lost';
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new WampSessionError(code, uri, `could not send ${name}: ${detail}`, { cause: err });
}
