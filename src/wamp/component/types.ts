/**
 * Public types of the reconnecting {@link Component}: options, hooks, events,
 * and how a run ends.
 *
 * @module
 */
import type { RetryOptions } from '../retry.js';
import type { Session } from '../session/session.js';
import type {
  EventHandler,
  InvocationHandler,
  JoinOptions,
  LeaveInfo,
  RegisterOptions,
  SubscribeOptions,
} from '../session/types.js';
import type { TransportConnector, TransportSpec } from './transports.js';

/** A procedure the component registers on every session it joins. */
export type DeclaredRegistration = InvocationHandler | { handler: InvocationHandler; options?: RegisterOptions };

/** A topic the component subscribes to on every session it joins. */
export type DeclaredSubscription = EventHandler | { handler: EventHandler; options?: SubscribeOptions };

/**
 * Where the component is:
 *
 * - `idle` — created, not started;
 * - `connecting` — opening a transport;
 * - `joining` — HELLO sent (authentication, then the declared registrations and subscriptions);
 * - `joined` — the session is established and its declarations are in place (`onJoin` runs now);
 * - `waiting` — backing off before the next attempt;
 * - `stopping` — leaving after `stop()`;
 * - `stopped` — done for good (see {@link ComponentStopInfo}).
 */
export type ComponentState = 'idle' | 'connecting' | 'joining' | 'joined' | 'waiting' | 'stopping' | 'stopped';

/** Why a component stopped. */
export type ComponentStopReason =
  /** `stop()` was called. */
  | 'stopped'
  /** The application ended the session itself (`session.leave()`). */
  | 'left'
  /** An error that retrying cannot fix (see {@link ComponentOptions.isFatal}). */
  | 'fatal'
  /** `max_retries` retries failed. */
  | 'retries_exhausted';

/** How a component's run ended. */
export interface ComponentStopInfo {
  /** Why it stopped. */
  reason: ComponentStopReason;
  /** The error for `fatal` (the error itself) and `retries_exhausted` (a ComponentError whose `cause` is the last failure). */
  error?: Error;
}

/** What {@link ComponentOptions.onDisconnect} hears after a joined session ended. */
export interface DisconnectInfo {
  /** How the session ended. */
  leave: LeaveInfo;
  /** Whether the component will reconnect. */
  willReconnect: boolean;
  /** Milliseconds until the next attempt (when reconnecting). */
  delay?: number;
}

/** The timer functions the component uses (inject fakes for deterministic tests). */
export interface ComponentTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of a {@link Component}: where to connect, how to join, what to declare, what to run. */
export interface ComponentOptions extends Omit<JoinOptions, 'signal' | 'onLeave'> {
  /**
   * Transports to try, in order: factories (`(signal) => Promise<WampTransport>`)
   * or descriptors (`{ url: 'ws://…' }`, `{ rawsocket: { host, port } }`)
   * turned into connections by {@link connect}. At least one.
   */
  transports: readonly TransportSpec[];
  /** The realm to join. */
  realm: string;
  /** Reconnect timing, Autobahn's names (seconds). See {@link RetryPolicy}. */
  retry?: RetryOptions;
  /** Procedures registered on every session, before `onJoin` runs. */
  registrations?: Readonly<Record<string, DeclaredRegistration>>;
  /** Topics subscribed on every session, before `onJoin` runs. */
  subscriptions?: Readonly<Record<string, DeclaredSubscription>>;
  /**
   * Called with each session once it is joined and its declarations are in
   * place. May be async; a throw goes to `onUserError` (the session stays).
   */
  onJoin?: (session: Session) => unknown;
  /** Called when a joined session ended (before `onDisconnect`). */
  onLeave?: (info: LeaveInfo) => void;
  /** Called after `onLeave`: whether and when the component reconnects. */
  onDisconnect?: (info: DisconnectInfo) => void;
  /**
   * Called when an attempt failed (no connection, join refused, a declaration
   * refused). `nextDelay` is the wait in ms before the next attempt (0: the
   * next transport right away), `null` when the component gives up.
   */
  onConnectFailure?: (error: Error, nextDelay: number | null) => void;
  /** Called on every state change. */
  onStateChange?: (state: ComponentState, previous: ComponentState) => void;
  /** Called once when the component stopped for good. */
  onStop?: (info: ComponentStopInfo) => void;
  /**
   * Decides whether a failed attempt is worth retrying. Default
   * {@link isFatalComponentError}: authentication and authorization refusals,
   * an unknown realm and invalid arguments are fatal; everything else (no
   * connection, timeouts, a transport lost, a registration that already
   * exists) is retried.
   */
  isFatal?: (error: Error) => boolean;
  /** Turns descriptors into transports. Default: WebSocket with the runtime's global `WebSocket`. */
  connect?: TransportConnector;
  /** Milliseconds one transport may take to open before the attempt fails. Default 15000. */
  connectTimeout?: number;
  /** Timer functions. Default the global `setTimeout`/`clearTimeout`. */
  timers?: ComponentTimers;
  /** Uniform random numbers in [0, 1) for the retry jitter. Default `Math.random`. */
  random?: () => number;
}

/** The events of a component and their listener arguments (see {@link Component.on}). */
export interface ComponentEvents {
  state: [state: ComponentState, previous: ComponentState];
  join: [session: Session];
  leave: [info: LeaveInfo];
  disconnect: [info: DisconnectInfo];
  connectfailure: [error: Error, nextDelay: number | null];
  stop: [info: ComponentStopInfo];
}
