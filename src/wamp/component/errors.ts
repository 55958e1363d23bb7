/**
 * Errors of the reconnecting {@link Component}, and the default decision of
 * which failures are worth retrying.
 *
 * @module
 */
import { ApplicationError, WampSessionError } from '../application-error.js';

/** Stable codes of {@link ComponentError}. */
export type ComponentErrorCode =
  /** `max_retries` retries failed; `cause` is the last failure. */
  | 'COMPONENT_ERR_RETRIES_EXHAUSTED'
  /** The component was stopped before it ever joined (what `start()` rejects with). */
  | 'COMPONENT_ERR_STOPPED'
  /** A declared registration or subscription was refused; `uri` is the router's error, `cause` the {@link ApplicationError}. */
  | 'COMPONENT_ERR_DECLARATION'
  /** One transport did not open within `connectTimeout`. */
  | 'COMPONENT_ERR_CONNECT_TIMEOUT';

/** An error of the component itself, with a stable code and a WAMP URI. */
export class ComponentError extends Error {
  /** Stable, machine-readable code. */
  readonly code: ComponentErrorCode;
  /** The WAMP URI for this condition (the router's error URI for declarations). */
  readonly uri: string;

  /**
   * @param code - stable code
   * @param uri - WAMP URI
   * @param message - human-readable description
   * @param cause - the underlying error
   */
  constructor(code: ComponentErrorCode, uri: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? {} : { cause });
    this.name = 'ComponentError';
    this.code = code;
    this.uri = uri;
  }
}

/**
 * ABORT reasons that retrying cannot fix (as Autobahn treats them): the realm
 * does not exist, or the router will not let us in with these credentials.
 */
export const FATAL_ABORT_REASONS: ReadonlySet<string> = new Set([
  'wamp.error.no_such_realm',
  'wamp.error.no_auth_method',
  'wamp.error.authentication_failed',
  'wamp.error.cannot_authenticate',
  'wamp.error.not_authorized',
  'wamp.error.authorization_failed',
  'wamp.error.no_such_role',
  'wamp.error.invalid_uri',
]);

/** Router errors for a declared registration or subscription that retrying cannot fix. */
export const FATAL_DECLARATION_ERRORS: ReadonlySet<string> = new Set([
  'wamp.error.not_authorized',
  'wamp.error.authorization_failed',
  'wamp.error.invalid_uri',
  'wamp.error.invalid_argument',
]);

/**
 * The default `isFatal` of a {@link Component}: `true` for
 *
 * - a join refused with one of {@link FATAL_ABORT_REASONS};
 * - a challenge we cannot answer (`WAMP_ERR_AUTHENTICATION`) or an invalid
 *   argument (`WAMP_ERR_INVALID_ARGUMENT`: a bad realm URI, a descriptor no
 *   connector handles);
 * - a declared registration/subscription refused with one of
 *   {@link FATAL_DECLARATION_ERRORS}.
 *
 * Everything else — no connection, a timeout, a lost transport, a protocol
 * violation, `wamp.error.procedure_already_exists` (the router may not yet
 * have noticed our previous session is gone) — is retried.
 *
 * @example
 * ```ts
 * const refused = (uri: string) => new ComponentError('COMPONENT_ERR_DECLARATION', uri, `could not register: ${uri}`);
 * console.assert(isFatalComponentError(refused('wamp.error.not_authorized')));
 * console.assert(!isFatalComponentError(refused('wamp.error.procedure_already_exists')));
 * console.assert(!isFatalComponentError(new Error('ECONNREFUSED')));
 * ```
 */
export function isFatalComponentError(error: Error): boolean {
  if (error instanceof WampSessionError) {
    if (error.code === 'WAMP_ERR_AUTHENTICATION' || error.code === 'WAMP_ERR_INVALID_ARGUMENT') return true;
    return error.code === 'WAMP_ERR_JOIN_ABORTED' && FATAL_ABORT_REASONS.has(error.uri);
  }
  if (error instanceof ComponentError) return error.code === 'COMPONENT_ERR_DECLARATION' && FATAL_DECLARATION_ERRORS.has(error.uri);
  if (error instanceof ApplicationError) return FATAL_DECLARATION_ERRORS.has(error.uri);
  return false;
}
