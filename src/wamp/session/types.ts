/**
 * Public types of the WAMP client session: options, results, handler shapes.
 *
 * Options that go on the wire keep their WAMP names (`disclose_me`,
 * `exclude_authid`, `ppt_scheme`, ...) and any `x_`-prefixed custom option is
 * passed through untouched; options that only act locally are camelCase
 * (`signal`, `onProgress`, `cancelMode`).
 *
 * @module
 */
import type { ClientAuthenticator, ChallengeResponse } from '../auth/types.js';
import type { WampTransportCloseInfo } from '../transport.js';
import type { WampDict, WampList } from '../uri.js';

/** Custom options: any key starting with `x_` goes on the wire as given. */
export interface CustomOptions {
  [key: `x_${string}`]: unknown;
}

/** Payload passthru attributes (advanced profile, "Payload Passthru Mode"). */
export interface PassthruOptions {
  /** Payload schema, e.g. `'mqtt'` or a key-management provider; selects passthru mode. */
  ppt_scheme?: string;
  /** Serializer of the payload (`'native'`, `'json'`, `'msgpack'`, `'cbor'`, `'flatbuffers'`). */
  ppt_serializer?: string;
  /** Cipher of an encrypted payload, e.g. `'xsalsa20poly1305'`. */
  ppt_cipher?: string;
  /** Key id of an encrypted payload. */
  ppt_keyid?: string;
  /**
   * The opaque payload sent in place of args/kwargs (only with `ppt_scheme`).
   * Local: becomes Payload|binary, never an option on the wire.
   */
  payload?: Uint8Array;
}

/** Limits of one session; every buffer is bounded. */
export interface SessionLimits {
  /** Calls in flight (including calls canceled locally whose answer is still due). Default 10000. */
  maxPendingCalls?: number;
  /** SUBSCRIBE, UNSUBSCRIBE, REGISTER, UNREGISTER and acknowledged PUBLISH in flight. Default 10000. */
  maxPendingRequests?: number;
  /** Invocations of our procedures running at once; more are answered with `wamp.error.unavailable`. Default 10000. */
  maxInvocations?: number;
  /**
   * Progressive results buffered for a {@link ProgressiveCall} reader, and
   * progressive invocation chunks buffered for a handler's `input`, per call.
   * WAMP has no flow control for these: on overflow the call is canceled.
   * Default 1000.
   */
  maxBufferedResults?: number;
  /**
   * Bytes queued in the transport above which `publish()` (unacknowledged),
   * `sendProgress()` and `OutgoingCall.send()` wait before resolving. Default 1 MiB.
   */
  writeHighWaterMark?: number;
}

/** Where a user error (a handler or hook that threw) happened. */
export interface UserErrorContext {
  /** `'event'` (subscription handler), `'invocation'` (procedure handler or its result), `'progress'` (an `onProgress` callback), `'hook'` (`onLeave`, `onRevoke`). */
  kind: 'event' | 'invocation' | 'progress' | 'hook';
  /** Topic or procedure concerned. */
  uri?: string;
}

/** How a session ended. */
export interface LeaveInfo {
  /** GOODBYE/ABORT reason URI, or `wamp.close.transport_lost` when the transport went away first. */
  reason: string;
  /** GOODBYE/ABORT Details.message, when given. */
  message?: string;
  /** GOODBYE/ABORT Details as received (empty when we ended the session). */
  details: WampDict;
  /** Who ended it: we (`leave()`, a protocol violation), the router (GOODBYE/ABORT), or the transport. */
  initiator: 'local' | 'router' | 'transport';
  /** How the transport closed, when it did. */
  transport?: WampTransportCloseInfo;
  /** The error that ended the session (protocol violation, transport failure), if any. */
  error?: Error;
}

/** Options of {@link Session.join}. */
export interface JoinOptions extends SessionLimits {
  /** HELLO.Details.authmethods. Default: the methods of `authenticators` (none: anonymous). */
  authmethods?: string[];
  /** HELLO.Details.authid. Default: the first authenticator's `authid`. */
  authid?: string;
  /** HELLO.Details.authrole (requested role; the router decides). */
  authrole?: string;
  /** HELLO.Details.authextra, merged over the authenticators' own. */
  authextra?: WampDict;
  /** Authentication methods; each answers the CHALLENGE for its method and may verify WELCOME. */
  authenticators?: ClientAuthenticator[];
  /** Answers a CHALLENGE no authenticator handles (custom methods). */
  onChallenge?: (method: string, extra: WampDict) => ChallengeResponse | Promise<ChallengeResponse>;
  /** Replaces HELLO.Details.roles (default: every role with the features this session implements). */
  roles?: WampDict;
  /** Extra HELLO.Details entries (custom `x_` keys, `resumable`, ...); merged last. */
  details?: WampDict;
  /** HELLO.Details.agent. Default `'autostrada'`. */
  agent?: string;
  /** Milliseconds for the join (HELLO to WELCOME, authentication included). Default 10000. */
  timeout?: number;
  /** Milliseconds `leave()` waits for the router's GOODBYE before closing the transport anyway. Default 5000. */
  leaveTimeout?: number;
  /** Aborts the join (sends ABORT, closes the transport, rejects with `WAMP_ERR_CANCELED`). */
  signal?: AbortSignal;
  /**
   * Hears about errors thrown by application code the session runs (event
   * handlers, procedure handlers that throw something other than an
   * {@link ApplicationError}, `onProgress`, hooks). Default: `console.error`.
   */
  onUserError?: (error: unknown, context: UserErrorContext) => void;
  /** Called once when the session ends (also available as {@link Session.closed}). */
  onLeave?: (info: LeaveInfo) => void;
  /**
   * Put the message of an error thrown by a procedure handler (not an
   * ApplicationError) into the `wamp.error.runtime_error` sent to the caller.
   * Default false: the caller learns nothing about our internals.
   */
  discloseErrors?: boolean;
  /** Milliseconds to add to a call's `timeout` for the local timer when the dealer enforces timeouts itself (`call_timeout`). Default 1000. */
  timeoutGrace?: number;
}

/** The roles the router announced, each as its `features` dict. */
export interface RouterFeatures {
  /** WELCOME.Details.roles.broker.features (`{}` when announced without features); absent when no broker. */
  broker?: WampDict;
  /** WELCOME.Details.roles.dealer.features; absent when no dealer. */
  dealer?: WampDict;
}

/** A call's outcome (RESULT), or one progressive result. */
export interface CallResult {
  /** YIELD.Arguments (empty when absent). */
  args: WampList;
  /** YIELD.ArgumentsKw (empty when absent). */
  kwargs: WampDict;
  /** RESULT.Details. */
  details: WampDict;
  /** Payload|binary in passthru mode. */
  payload?: Uint8Array;
  /** `true` for a progressive result (RESULT.Details.progress). */
  progress: boolean;
}

/** How a call is canceled (advanced profile, "Call Canceling"). */
export type CancelMode = 'skip' | 'kill' | 'killnowait';

/** Options of {@link Session.call}. */
export interface CallOptions extends PassthruOptions, CustomOptions {
  /**
   * CALL.Options.timeout in ms (the dealer or callee cancels the call), and a
   * local timer: when it runs out the call rejects with `wamp.error.timeout`
   * (code `WAMP_ERR_TIMEOUT`) and is canceled at the dealer.
   */
  timeout?: number;
  /** Ask the dealer to disclose our identity to the callee (caller identification). */
  disclose_me?: boolean;
  /** Routing key of sharded registrations. */
  rkey?: string;
  /** Abort to cancel the call: sends CANCEL (when the dealer supports it) and rejects with `WAMP_ERR_CANCELED`. */
  signal?: AbortSignal;
  /**
   * Cancel mode for `signal` and local timeouts. Default `'killnowait'`. With
   * `'kill'` the call settles with what the dealer answers after the callee
   * was interrupted (a result or `wamp.error.canceled`).
   */
  cancelMode?: CancelMode;
  /** Receive progressive results (sets `receive_progress`); called for each. */
  onProgress?: (result: CallResult) => void;
}

/** Options of {@link Session.openCall}: like {@link CallOptions} (the options of the first CALL). */
export type OpenCallOptions = Omit<CallOptions, 'payload'>;

/** Options of {@link Session.register}. */
export interface RegisterOptions extends CustomOptions {
  /** Match policy (pattern-based registration). Default exact. */
  match?: 'exact' | 'prefix' | 'wildcard';
  /** Invocation policy (shared registration). Default single. */
  invoke?: 'single' | 'roundrobin' | 'random' | 'first' | 'last';
  /** Ask the dealer to forward call timeouts to us (we then enforce them). */
  forward_timeout?: boolean;
  /** Invocations the dealer may run concurrently on this registration (router-specific). */
  concurrency?: number;
  /** Disclose the caller on every invocation (router-specific; prefer the caller's `disclose_me`). */
  disclose_caller?: boolean;
  /** Called when the router revokes the registration (advanced profile, "Registration Revocation"). */
  onRevoke?: (reason: string | undefined) => void;
}

/** Options of {@link Session.subscribe}. */
export interface SubscribeOptions extends CustomOptions {
  /** Match policy (pattern-based subscription). Default exact. */
  match?: 'exact' | 'prefix' | 'wildcard';
  /** Ask for the retained event on subscribe (event retention, router-specific). */
  get_retained?: boolean;
  /** Called when the router revokes the subscription (advanced profile, "Subscription Revocation"). */
  onRevoke?: (reason: string | undefined) => void;
}

/** Options of {@link Session.publish}. */
export interface PublishOptions extends PassthruOptions, CustomOptions {
  /** Ask the broker for PUBLISHED (the promise then resolves with the publication). */
  acknowledge?: boolean;
  /** Exclude (default, `true`) or include ourselves as a receiver (publisher exclusion). */
  exclude_me?: boolean;
  /** Disclose our identity to subscribers (publisher identification). */
  disclose_me?: boolean;
  /** Session IDs that must not receive the event (subscriber black listing). */
  exclude?: number[];
  /** authids that must not receive the event. */
  exclude_authid?: string[];
  /** authroles that must not receive the event. */
  exclude_authrole?: string[];
  /** Only these session IDs may receive the event (white listing). */
  eligible?: number[];
  /** Only these authids may receive the event. */
  eligible_authid?: string[];
  /** Only these authroles may receive the event. */
  eligible_authrole?: string[];
  /** Ask the broker to retain the event (event retention, router-specific). */
  retain?: boolean;
}

/** An acknowledged publication. */
export interface Publication {
  /** PUBLISHED.Publication. */
  id: number;
}

/** EVENT.Details as received, with the topic, publication and subscription always filled in. */
export interface EventDetails {
  /** The topic the event was published to (`details.topic` for pattern subscriptions, else the subscribed topic). */
  topic: string;
  /** PUBLISHED.Publication id. */
  publication: number;
  /** Our subscription id. */
  subscription: number;
  /** Publisher session id (publisher identification). */
  publisher?: number;
  /** Publisher authid (publisher identification). */
  publisher_authid?: string;
  /** Publisher authrole (publisher identification). */
  publisher_authrole?: string;
  /** Payload|binary in passthru mode (args and kwargs are then empty). */
  payload?: Uint8Array;
  /** Any other detail the broker sent. */
  [key: string]: unknown;
}

/** Handles events of a subscription. May be async; a throw or rejection goes to `onUserError`. */
export type EventHandler = (args: WampList, kwargs: WampDict, details: EventDetails) => unknown;

/** One chunk of a progressive call invocation (see {@link InvocationDetails.input}). */
export interface InvocationChunk {
  /** CALL.Arguments of this chunk (empty when absent). */
  args: WampList;
  /** CALL.ArgumentsKw of this chunk (empty when absent). */
  kwargs: WampDict;
  /** Payload|binary in passthru mode. */
  payload?: Uint8Array;
  /** `false` for the final chunk. */
  progress: boolean;
}

/** Options of a progressive result sent by {@link InvocationDetails.sendProgress}. */
export type ProgressOptions = PassthruOptions & CustomOptions;

/**
 * INVOCATION.Details as received, with the procedure and registration filled in,
 * plus local helpers (camelCase, never on the wire).
 */
export interface InvocationDetails {
  /** The procedure called (`details.procedure` for pattern registrations, else the registered URI). */
  procedure: string;
  /** Our registration id. */
  registration: number;
  /** Caller session id (caller identification). */
  caller?: number;
  /** Caller authid. */
  caller_authid?: string;
  /** Caller authrole. */
  caller_authrole?: string;
  /** Timeout forwarded by the dealer, ms (we enforce it: the invocation ends with `wamp.error.timeout`). */
  timeout?: number;
  /** The caller accepts progressive results (`sendProgress` is then defined). */
  receive_progress?: boolean;
  /**
   * Aborted when the invocation is interrupted (INTERRUPT), times out, or the
   * session ends; `signal.reason` is a {@link WampSessionError}. Whatever the
   * handler returns afterwards is discarded.
   */
  signal: AbortSignal;
  /**
   * Sends a progressive result (YIELD with `progress: true`); only when the
   * caller asked for them. Resolves when the transport can take more (never
   * rejects; a no-op once the invocation is over). Throws a
   * {@link WampSessionError} `WAMP_ERR_SERIALIZATION` synchronously when the
   * values cannot be serialized.
   */
  sendProgress?: (args?: WampList, kwargs?: WampDict, options?: ProgressOptions) => Promise<void>;
  /**
   * The chunks after the first of a progressive call invocation (advanced
   * profile, "Progressive Call Invocations"): the handler gets the first
   * chunk as `args`/`kwargs`, and reads the rest here; the iteration ends
   * after the final chunk. Absent for ordinary invocations.
   */
  input?: AsyncIterable<InvocationChunk>;
  /** Payload|binary in passthru mode (args and kwargs are then empty). */
  payload?: Uint8Array;
  /** Any other detail the dealer sent. */
  [key: string]: unknown;
}

/**
 * Implements a procedure. Return a value (sent as `[value]`), nothing (no
 * arguments), or an {@link InvocationResult} (args, kwargs, options); may be
 * async. Throw an {@link ApplicationError} to send that error; anything else
 * thrown becomes `wamp.error.runtime_error` for the caller and goes to
 * `onUserError` here.
 */
export type InvocationHandler = (args: WampList, kwargs: WampDict, details: InvocationDetails) => unknown;

/** Options of an {@link InvocationResult}: YIELD.Options (passthru, custom). */
export type YieldOptions = PassthruOptions & CustomOptions;

/** What a procedure handler returns to control YIELD exactly: args, kwargs and options. */
export class InvocationResult {
  /**
   * @param args - YIELD.Arguments
   * @param kwargs - YIELD.ArgumentsKw
   * @param options - YIELD.Options (passthru attributes with `payload`, `x_` keys)
   */
  constructor(
    readonly args: WampList = [],
    readonly kwargs: WampDict = {},
    readonly options: YieldOptions = {},
  ) {}
}
