/**
 * One WAMP connection at the router: the session state machine (basic profile
 * "Sessions"; see also the spec's session state machine) over one
 * {@link WampTransport}:
 *
 * ```
 * idle --HELLO--> authenticating --(CHALLENGE/AUTHENTICATE)*--> established
 *   ^                   |                                         |   |
 *   |                 ABORT                          GOODBYE (client) |
 *   +-------------------------------------------------------------+   |
 *   closed <-- GOODBYE reply -- closing <---- GOODBYE (router: kill, shutdown)
 * ```
 *
 * Input is handled strictly in order: when a message waits on something
 * asynchronous (a dynamic authenticator or authorizer), later messages wait in
 * a bounded queue. Protocol violations get ABORT `wamp.error.protocol_violation`
 * and the transport is closed; nothing a client sends can throw out of here.
 *
 * @module
 */
import { WampProtocolError, protocolViolation } from '../wamp/errors.js';
import {
  MESSAGE_TYPE_NAMES,
  MessageType,
  type AuthenticateMessage,
  type EventMessage,
  type HelloMessage,
  type WampMessage,
} from '../wamp/messages.js';
import { SerializationError } from '../wamp/serializers/types.js';
import type { WampTransport, WampTransportCloseInfo, WampTransportHandler } from '../wamp/transport.js';
import type { WampDict } from '../wamp/uri.js';
import { isDict, isList } from '../wamp/uri.js';
import { InternalCallError, type AuthContext, type AuthIdentity, type AuthStep, type InternalCallResult, type ServerAuthMethod } from './auth.js';
import { TRUSTED_ROLE } from './authorization.js';
import { randomId } from './ids.js';
import type { Deadlines } from '../core/deadlines.js';
import type { SessionLimits } from './options.js';
import { Peer, type PeerLink } from './peer.js';
import type { Realm } from './realm.js';
import type { SessionInfo } from './state.js';
import { WampUri } from './uris.js';

/** What a connection needs from its router. */
export interface RouterContext {
  readonly limits: SessionLimits;
  /** WELCOME.Details.roles. */
  readonly welcomeRoles: WampDict;
  /** The realm, created on demand when the router auto-creates realms. */
  realm(name: string, create: boolean): Realm | undefined;
  /** Reports an unexpected internal error. */
  onError(err: unknown): void;
  /** The connection's transport closed. */
  closed(conn: Connection): void;
  /** The handshake and closing timeouts of every connection. */
  readonly deadlines: Deadlines<Connection>;
}

const NO_DETAILS: WampDict = Object.freeze({});

// What a connection does when its deadline passes (one field, no closure per timeout).
const ON_DEADLINE_NONE = 0;
const ON_DEADLINE_NO_HELLO = 1;
const ON_DEADLINE_AUTH = 2;
const ON_DEADLINE_IDLE = 3;
const ON_DEADLINE_GOODBYE = 4;
const ON_DEADLINE_SHUTDOWN = 5;
type DeadlineAction = 0 | 1 | 2 | 3 | 4 | 5;

/** Connection state. */
export type ConnectionState = 'idle' | 'authenticating' | 'established' | 'closing' | 'closed';

type Pending = { respond: Extract<AuthStep, { kind: 'challenge' }>['respond']; method: string };

/** The router's side of one transport. */
export class Connection implements WampTransportHandler, PeerLink {
  private stateValue: ConnectionState = 'idle';
  private peer: Peer | null = null;
  private realm: Realm | null = null;
  private onDeadline: DeadlineAction = ON_DEADLINE_NONE;
  private busy = false;
  private readonly queue: WampMessage[] = [];
  private challenge: Pending | null = null;
  private helloDetails: WampDict = NO_DETAILS;
  private sessionId = 0;
  /** Bumped whenever a handshake ends, so late async auth results are ignored. */
  private handshake = 0;
  private shuttingDown = false;
  private overflowed = false;
  private transportClosed = false;
  /** Resolves shutdown()'s promise (made only when shutting down). */
  private onTransportClosed: (() => void) | null = null;

  /**
   * @param router - the router
   * @param transport - an accepted transport (not yet opened)
   * @param methods - authentication methods for this transport
   * @param trusted - skip authentication: the session joins as `trusted` (or HELLO.Details.authrole)
   */
  constructor(
    private readonly router: RouterContext,
    readonly transport: WampTransport,
    private readonly methods: ReadonlyMap<string, ServerAuthMethod>,
    private readonly trusted: boolean,
  ) {}

  /** Current state. */
  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The joined session's ID, or 0. */
  get session(): number {
    return this.peer?.id ?? 0;
  }

  /** Starts receiving; a client must send HELLO within `limits.helloTimeout`. */
  start(): void {
    this.armTimer(this.router.limits.helloTimeout, ON_DEADLINE_NO_HELLO);
    this.transport.open(this);
  }

  // -------------------------------------------------------------------------
  // WampTransportHandler

  onMessage(msg: WampMessage): void {
    if (this.stateValue === 'closed') return;
    if (this.busy) {
      if (this.queue.length >= this.router.limits.maxQueuedMessages) {
        this.abort(WampUri.LIMIT_EXCEEDED, 'max_queued_messages', 1008);
        return;
      }
      this.queue.push(msg);
      return;
    }
    this.process(msg);
  }

  onProtocolError(error: WampProtocolError | SerializationError): void {
    if (this.stateValue === 'closed') return;
    const detail = error instanceof WampProtocolError ? error.detail : error.message;
    this.abort(WampUri.PROTOCOL_VIOLATION, detail, 1002);
  }

  onClose(_info: WampTransportCloseInfo): void {
    this.stateValue = 'closed';
    this.clearTimer();
    this.queue.length = 0;
    this.leave();
    this.router.closed(this);
    this.transportClosed = true;
    const resolve = this.onTransportClosed;
    this.onTransportClosed = null;
    resolve?.();
  }

  // -------------------------------------------------------------------------
  // Input, in order

  private process(msg: WampMessage): void {
    let r: void | Promise<void>;
    try {
      r = this.dispatch(msg);
    } catch (err) {
      this.failed(err);
      return;
    }
    if (r) {
      this.busy = true;
      r.then(
        () => this.resume(),
        (err: unknown) => {
          this.failed(err);
          this.resume();
        },
      );
    }
  }

  private resume(): void {
    this.busy = false;
    while (!this.busy && this.queue.length > 0 && this.stateValue !== 'closed') this.process(this.queue.shift()!);
  }

  private failed(err: unknown): void {
    if (this.stateValue === 'closed') return;
    if (err instanceof WampProtocolError) {
      this.abort(WampUri.PROTOCOL_VIOLATION, err.detail, 1002);
      return;
    }
    this.router.onError(err);
    this.abort(WampUri.INTERNAL_ERROR, 'internal router error', 1011);
  }

  private dispatch(msg: WampMessage): void | Promise<void> {
    switch (this.stateValue) {
      case 'idle':
        if (msg.type === MessageType.HELLO) return this.hello(msg);
        if (msg.type === MessageType.ABORT) return this.close(1000);
        throw protocolViolation(`${messageName(msg)} before HELLO`);
      case 'authenticating':
        if (msg.type === MessageType.AUTHENTICATE) return this.authenticate(msg);
        if (msg.type === MessageType.ABORT) return this.close(1000);
        throw protocolViolation(`${messageName(msg)} while authenticating`);
      case 'established': {
        const peer = this.peer!;
        if (msg.type === MessageType.GOODBYE) {
          // Basic profile "Session Closing": answer with goodbye_and_out; the
          // transport may carry a new session afterwards.
          this.send({ type: MessageType.GOODBYE, details: {}, reason: WampUri.GOODBYE_AND_OUT });
          this.leave();
          this.toIdle();
          return;
        }
        if (msg.type === MessageType.ABORT) {
          this.leave();
          return this.close(1000);
        }
        if (msg.type === MessageType.HELLO) throw protocolViolation('HELLO in an established session');
        return this.realm!.handle(peer, msg);
      }
      case 'closing':
        // We sent GOODBYE (kill, shutdown): everything but the reply is
        // discarded; on the reply the transport is closed.
        if (msg.type === MessageType.GOODBYE || msg.type === MessageType.ABORT) return this.close(this.shuttingDown ? 1001 : 1000);
        return;
      case 'closed':
        return;
    }
  }

  // -------------------------------------------------------------------------
  // Handshake

  private hello(msg: HelloMessage): void | Promise<void> {
    this.clearTimer();
    const details = msg.details;
    // Basic profile "HELLO": the client MUST announce its roles.
    if (!isDict(details.roles) || Object.keys(details.roles).length === 0) {
      throw protocolViolation('HELLO.Details.roles must announce at least one role');
    }
    const realm = this.router.realm(msg.realm, true);
    if (!realm) {
      this.abort(WampUri.NO_SUCH_REALM, `no realm '${msg.realm}'`, 1000);
      return;
    }
    this.realm = realm;
    this.helloDetails = details;
    this.sessionId = randomId();
    this.stateValue = 'authenticating';
    const gen = ++this.handshake;
    this.armTimer(this.router.limits.authTimeout, ON_DEADLINE_AUTH);
    if (this.trusted) {
      this.welcome(
        {
          authid: typeof details.authid === 'string' ? details.authid : `trusted-${this.sessionId}`,
          authrole: typeof details.authrole === 'string' ? details.authrole : TRUSTED_ROLE,
          authprovider: 'local',
        },
        'trusted',
      );
      return;
    }
    const offered = isList(details.authmethods)
      ? details.authmethods.filter((m): m is string => typeof m === 'string')
      : ['anonymous'];
    const method = offered.map((m) => this.methods.get(m)).find((m) => m !== undefined);
    if (!method) {
      this.abort(WampUri.NO_MATCHING_AUTH_METHOD, `none of the offered authmethods is accepted`, 1000);
      return;
    }
    const ctx = this.authContext(msg.realm, details);
    return this.step(gen, method.method, () => method.start(ctx));
  }

  private authenticate(msg: AuthenticateMessage): void | Promise<void> {
    const pending = this.challenge;
    if (!pending) throw protocolViolation('AUTHENTICATE without a CHALLENGE');
    this.challenge = null;
    return this.step(this.handshake, pending.method, () => pending.respond(msg.signature, msg.extra));
  }

  /** Runs one authentication step and acts on its outcome. */
  private step(gen: number, method: string, run: () => AuthStep | Promise<AuthStep>): void | Promise<void> {
    const act = (s: AuthStep): void => {
      if (gen !== this.handshake || this.stateValue !== 'authenticating') return;
      if (s.kind === 'welcome') this.welcome(s.identity, method);
      else if (s.kind === 'challenge') {
        this.challenge = { respond: s.respond, method };
        this.send({ type: MessageType.CHALLENGE, authMethod: method, extra: s.extra });
      } else this.abort(s.reason, s.message, 1000);
    };
    const broken = (err: unknown): void => {
      this.router.onError(err);
      if (gen === this.handshake && this.stateValue === 'authenticating') {
        this.abort(WampUri.AUTHENTICATION_FAILED, 'authentication failed', 1000);
      }
    };
    let r: AuthStep | Promise<AuthStep>;
    try {
      r = run();
    } catch (err) {
      broken(err);
      return;
    }
    if (r instanceof Promise) return r.then(act, broken);
    act(r);
  }

  private authContext(realm: string, details: WampDict): AuthContext {
    const ctx: AuthContext = {
      realm,
      authextra: isDict(details.authextra) ? details.authextra : {},
      hello: details,
      transport: this.transport.info,
      session: this.sessionId,
      call: (r: string, procedure: string, args, kwargs): Promise<InternalCallResult> => {
        const target = this.router.realm(r, false);
        if (!target) return Promise.reject(new InternalCallError(WampUri.NO_SUCH_REALM));
        return target.callInternal(procedure, args, kwargs, this.router.limits.internalCallTimeout);
      },
    };
    if (typeof details.authid === 'string') (ctx as { authid?: string }).authid = details.authid;
    if (typeof details.authrole === 'string') (ctx as { authrole?: string }).authrole = details.authrole;
    return ctx;
  }

  private welcome(id: AuthIdentity, method: string): void {
    const realm = this.realm!;
    if (!realm.authorizer.hasRole(id.authrole)) {
      this.abort(WampUri.NO_SUCH_ROLE, `no role '${id.authrole}' in realm '${realm.name}'`, 1000);
      return;
    }
    this.clearTimer();
    // The info object itself: its `peer` (a system call on Node) is read only
    // if the meta API is asked about this session.
    const transport = this.transport.info;
    const info: SessionInfo = {
      session: this.sessionId,
      authid: id.authid,
      authrole: id.authrole,
      authmethod: method,
      authprovider: id.authprovider,
      transport,
      ...(id.authextra ? { authextra: id.authextra } : {}),
    };
    const roles = isDict(this.helloDetails.roles) ? this.helloDetails.roles : {};
    this.peer = new Peer(info, roles, this);
    // Not needed after the handshake (the Peer keeps the client's features as bits).
    this.helloDetails = NO_DETAILS;
    const details: WampDict = {
      realm: realm.name,
      authid: id.authid,
      authrole: id.authrole,
      authmethod: method,
      authprovider: id.authprovider,
      roles: this.router.welcomeRoles,
    };
    if (id.authextra) details.authextra = id.authextra;
    this.stateValue = 'established';
    this.send({ type: MessageType.WELCOME, session: this.sessionId, details });
    realm.join(this.peer);
  }

  // -------------------------------------------------------------------------
  // Leaving

  /** Takes the session out of its realm (idempotent). */
  private leave(): void {
    const peer = this.peer;
    const realm = this.realm;
    this.peer = null;
    if (peer && realm) {
      try {
        realm.leave(peer);
      } catch (err) {
        this.router.onError(err);
      }
    }
  }

  private toIdle(): void {
    this.clearTimer();
    this.stateValue = 'idle';
    this.realm = null;
    this.challenge = null;
    this.handshake++;
    this.armTimer(this.router.limits.helloTimeout, ON_DEADLINE_IDLE);
  }

  /** Sends ABORT, leaves the realm and closes the transport. */
  abort(reason: string, message: string, code: number): void {
    if (this.stateValue === 'closed') return;
    this.send({ type: MessageType.ABORT, details: { message }, reason });
    this.leave();
    this.close(code, reason);
  }

  private close(code: number, reason = ''): void {
    this.stateValue = 'closed';
    this.handshake++;
    this.clearTimer();
    this.queue.length = 0;
    // WebSocket close reasons are limited to 123 bytes.
    this.transport.close(code, reason.length > 120 ? reason.slice(0, 120) : reason);
  }

  /** PeerLink: router-initiated GOODBYE (meta kill). */
  kill(reason: string, message?: string): void {
    if (this.stateValue !== 'established') return;
    this.send({ type: MessageType.GOODBYE, details: message === undefined ? {} : { message }, reason });
    this.leave();
    this.stateValue = 'closing';
    this.armTimer(this.router.limits.goodbyeTimeout, ON_DEADLINE_GOODBYE);
  }

  /**
   * Router shutdown: GOODBYE `wamp.close.system_shutdown` to an established
   * session, then the transport is closed on the reply or after
   * `limits.goodbyeTimeout`; other connections are closed at once.
   */
  shutdown(): Promise<void> {
    this.shuttingDown = true;
    if (this.stateValue === 'established') {
      this.send({ type: MessageType.GOODBYE, details: {}, reason: WampUri.CLOSE_SYSTEM_SHUTDOWN });
      this.leave();
      this.stateValue = 'closing';
      this.armTimer(this.router.limits.goodbyeTimeout, ON_DEADLINE_SHUTDOWN);
    } else if (this.stateValue === 'closing') {
      this.armTimer(this.router.limits.goodbyeTimeout, ON_DEADLINE_SHUTDOWN);
    } else if (this.stateValue !== 'closed') {
      this.close(1001);
    } else if (this.transport.isOpen) {
      this.transport.close(1001);
    }
    if (this.transportClosed) return Promise.resolve();
    return new Promise((resolve) => {
      const before = this.onTransportClosed;
      this.onTransportClosed = before
        ? () => {
            before();
            resolve();
          }
        : resolve;
    });
  }

  // -------------------------------------------------------------------------
  // Output

  get writable(): boolean {
    return !this.overflowed && this.transport.isOpen && this.stateValue !== 'closed';
  }

  send(msg: WampMessage): boolean {
    if (this.overflowed || !this.transport.isOpen) return false;
    try {
      this.transport.send(msg);
    } catch (err) {
      if (!(err instanceof SerializationError)) this.router.onError(err);
      return false;
    }
    if (this.transport.bufferedAmount > this.router.limits.maxBufferedBytes) this.overflow();
    return true;
  }

  sendEvent(msg: EventMessage): boolean {
    if (this.transport.bufferedAmount > this.router.limits.eventDropBytes) return false;
    return this.send(msg);
  }

  /**
   * The outgoing buffer passed `limits.maxBufferedBytes`: the session is killed
   * (after the current routing step, so no loop sees half-removed state).
   */
  private overflow(): void {
    this.overflowed = true;
    queueMicrotask(() => {
      if (this.stateValue === 'closed') return;
      this.leave();
      this.close(1008, WampUri.SEND_BUFFER_OVERFLOW);
    });
  }

  private armTimer(ms: number, action: DeadlineAction): void {
    this.onDeadline = action;
    this.router.deadlines.set(this, Date.now() + ms);
  }

  private clearTimer(): void {
    if (this.onDeadline !== ON_DEADLINE_NONE) {
      this.onDeadline = ON_DEADLINE_NONE;
      this.router.deadlines.delete(this);
    }
  }

  /** @internal The armed timeout passed (called through the router's {@link Deadlines}). */
  expire(): void {
    const action = this.onDeadline;
    this.onDeadline = ON_DEADLINE_NONE;
    switch (action) {
      case ON_DEADLINE_NO_HELLO:
        this.abort(WampUri.HANDSHAKE_TIMEOUT, 'no HELLO in time', 1008);
        break;
      case ON_DEADLINE_AUTH:
        this.abort(WampUri.AUTHENTICATION_FAILED, 'authentication did not finish in time', 1008);
        break;
      case ON_DEADLINE_IDLE:
      case ON_DEADLINE_GOODBYE:
        this.close(1000);
        break;
      case ON_DEADLINE_SHUTDOWN:
        this.close(1001);
        break;
    }
  }
}

function messageName(msg: WampMessage): string {
  return MESSAGE_TYPE_NAMES[msg.type];
}
