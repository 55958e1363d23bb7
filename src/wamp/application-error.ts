/**
 * Errors a WAMP client session hands to the application.
 *
 * Two classes, both with a stable `code` and a WAMP `uri`, so programs can
 * branch on `err.uri` whichever side produced the error:
 *
 * - {@link ApplicationError}: an ERROR message from the router (a callee's
 *   error, or the router refusing a request: `wamp.error.no_such_procedure`,
 *   `wamp.error.not_authorized`, ...). A procedure handler throws one to send
 *   that error to its caller.
 * - {@link WampSessionError}: something that happened on this side — the join
 *   was aborted, the session ended, a local timeout or cancel, a limit, a
 *   protocol violation by the router.
 *
 * @module
 */
import type { WampDict, WampList } from './uri.js';

/** Options of {@link ApplicationError}. */
export interface ApplicationErrorOptions {
  /** ERROR.Details (received errors carry the router's; rarely needed when throwing). */
  details?: WampDict;
  /** Payload|binary of an error in payload passthru mode (advanced profile, "Payload Passthru Mode"). */
  payload?: Uint8Array;
  /** The underlying error, for logs (never sent). */
  cause?: unknown;
}

/**
 * An application-level WAMP error: `[ERROR, ..., Error|uri, Arguments|list, ArgumentsKw|dict]`.
 *
 * Thrown (or rejected with) by a procedure handler, it reaches the caller as an
 * ApplicationError with the same `uri`, `args` and `kwargs`. Every ERROR the
 * router sends for a request of ours (CALL, REGISTER, SUBSCRIBE, acknowledged
 * PUBLISH, ...) rejects that request with one.
 *
 * @example
 * ```ts
 * const err = new ApplicationError('com.example.invalid_year', [1830], { min: 1900 });
 * console.assert(err.uri === 'com.example.invalid_year' && err.args[0] === 1830 && err.kwargs.min === 1900);
 * console.assert(err.code === 'WAMP_ERR_APPLICATION');
 * ```
 */
export class ApplicationError extends Error {
  /** Stable code for every application error. */
  readonly code = 'WAMP_ERR_APPLICATION' as const;
  /** The WAMP error URI, e.g. `wamp.error.no_such_procedure`. */
  readonly uri: string;
  /** Arguments|list (empty when the error had none). */
  readonly args: WampList;
  /** ArgumentsKw|dict (empty when the error had none). */
  readonly kwargs: WampDict;
  /** ERROR.Details. */
  readonly details: WampDict;
  /** Payload|binary in payload passthru mode. */
  readonly payload: Uint8Array | undefined;

  /**
   * @param uri - the error URI (e.g. `'com.example.invalid_input'`)
   * @param args - positional error arguments
   * @param kwargs - keyword error arguments
   * @param options - details, passthru payload, cause
   */
  constructor(uri: string, args: WampList = [], kwargs: WampDict = {}, options: ApplicationErrorOptions = {}) {
    const first = args[0];
    super(typeof first === 'string' ? `${uri}: ${first}` : uri, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'ApplicationError';
    this.uri = uri;
    this.args = args;
    this.kwargs = kwargs;
    this.details = options.details ?? {};
    this.payload = options.payload;
  }
}

/** Stable codes of {@link WampSessionError}. */
export type WampSessionErrorCode =
  /** The router answered HELLO with ABORT (`uri` is ABORT.Reason, e.g. `wamp.error.no_such_realm`). */
  | 'WAMP_ERR_JOIN_ABORTED'
  /** Authentication could not be done on our side (no answer for a challenge, an authenticator threw, the router's WELCOME failed verification). */
  | 'WAMP_ERR_AUTHENTICATION'
  /** The session ended (left, closed by the router, transport lost) before the operation completed. `uri` is the close reason. */
  | 'WAMP_ERR_SESSION_CLOSED'
  /** The router broke the protocol; the session was aborted with `wamp.error.protocol_violation`. */
  | 'WAMP_ERR_PROTOCOL_VIOLATION'
  /** A local timer ran out (join, leave, call). */
  | 'WAMP_ERR_TIMEOUT'
  /** Canceled on our side (an AbortSignal, or the consumer stopped reading). */
  | 'WAMP_ERR_CANCELED'
  /** A limit of this session was reached (pending calls or requests). */
  | 'WAMP_ERR_TOO_MANY_PENDING'
  /** A bounded buffer of progressive results or chunks overflowed. */
  | 'WAMP_ERR_BUFFER_OVERFLOW'
  /** The router did not announce a feature the operation needs. */
  | 'WAMP_ERR_FEATURE_NOT_SUPPORTED'
  /** An argument given to the session is invalid (bad URI, bad option). */
  | 'WAMP_ERR_INVALID_ARGUMENT'
  /** A value could not be serialized for the wire. */
  | 'WAMP_ERR_SERIALIZATION'
  /** A meta procedure returned something of the wrong shape. */
  | 'WAMP_ERR_INVALID_RESULT'
  /** The WebSocket connection could not be opened. */
  | 'WAMP_ERR_CONNECT';

/** Options of {@link WampSessionError}. */
export interface WampSessionErrorOptions {
  /** ABORT/GOODBYE Details, when the error comes from one. */
  details?: WampDict;
  /** ABORT Arguments|list. */
  args?: WampList;
  /** ABORT ArgumentsKw|dict. */
  kwargs?: WampDict;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * An error on our side of a WAMP session, with a stable {@link WampSessionErrorCode}
 * and the matching WAMP URI (`wamp.error.timeout`, `wamp.error.canceled`,
 * the ABORT reason of a refused join, the reason a session closed, ...).
 *
 * @example
 * ```ts
 * const err = new WampSessionError('WAMP_ERR_TIMEOUT', 'wamp.error.timeout', 'call timed out');
 * console.assert(err.code === 'WAMP_ERR_TIMEOUT' && err.uri === 'wamp.error.timeout');
 * ```
 */
export class WampSessionError extends Error {
  /** Stable, machine-readable code. */
  readonly code: WampSessionErrorCode;
  /** The WAMP URI for this condition. */
  readonly uri: string;
  /** ABORT/GOODBYE Details, when the error comes from one (else empty). */
  readonly details: WampDict;
  /** ABORT Arguments|list (else empty). */
  readonly args: WampList;
  /** ABORT ArgumentsKw|dict (else empty). */
  readonly kwargs: WampDict;

  /**
   * @param code - stable code
   * @param uri - WAMP URI
   * @param message - human-readable description
   * @param options - details, args, kwargs, cause
   */
  constructor(code: WampSessionErrorCode, uri: string, message: string, options: WampSessionErrorOptions = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'WampSessionError';
    this.code = code;
    this.uri = uri;
    this.details = options.details ?? {};
    this.args = options.args ?? [];
    this.kwargs = options.kwargs ?? {};
  }
}
