/**
 * Authentication errors, client and router side.
 *
 * One class, {@link WampAuthError}, with a stable `code` for programs and the
 * WAMP error `uri` for the ABORT that ends the handshake. Which side raises
 * which code:
 *
 * | code | raised by | ABORT reason |
 * |---|---|---|
 * | `WAMP_ERR_AUTH_INVALID_CHALLENGE` | client: CHALLENGE.Extra malformed | `wamp.error.cannot_authenticate` |
 * | `WAMP_ERR_AUTH_LIMIT_EXCEEDED` | client: KDF cost beyond the configured limits | `wamp.error.cannot_authenticate` |
 * | `WAMP_ERR_AUTH_CHANNEL_BINDING` | either: channel binding asked for but not available, or mismatched | `wamp.error.cannot_authenticate` (client), `wamp.error.authentication_failed` (router) |
 * | `WAMP_ERR_AUTH_INVALID_KEY` | application: unusable key or secret material | `wamp.error.cannot_authenticate` |
 * | `WAMP_ERR_AUTH_ROUTER_NOT_VERIFIED` | client: the router failed mutual authentication | `wamp.error.authentication_failed` |
 * | `WAMP_ERR_AUTH_INVALID_HELLO` | router: HELLO.Details.authextra malformed | `wamp.error.authentication_failed` |
 * | `WAMP_ERR_AUTH_FAILED` | router: wrong ticket, signature or proof | `wamp.error.authentication_failed` |
 *
 * Messages never contain secrets, so `message` may go into ABORT.Details.message.
 *
 * @module
 */

/** Stable code carried by {@link WampAuthError}. */
export type WampAuthErrorCode =
  | 'WAMP_ERR_AUTH_INVALID_CHALLENGE'
  | 'WAMP_ERR_AUTH_LIMIT_EXCEEDED'
  | 'WAMP_ERR_AUTH_CHANNEL_BINDING'
  | 'WAMP_ERR_AUTH_INVALID_KEY'
  | 'WAMP_ERR_AUTH_ROUTER_NOT_VERIFIED'
  | 'WAMP_ERR_AUTH_INVALID_HELLO'
  | 'WAMP_ERR_AUTH_FAILED';

/** ABORT reason when the client cannot answer a CHALLENGE. */
export const URI_CANNOT_AUTHENTICATE = 'wamp.error.cannot_authenticate';
/** ABORT reason when authentication failed (either direction). */
export const URI_AUTHENTICATION_FAILED = 'wamp.error.authentication_failed';

/** An authentication step failed; see the module table for codes and URIs. */
export class WampAuthError extends Error {
  /** Stable, machine-readable code; never changes between versions. */
  readonly code: WampAuthErrorCode;
  /** The WAMP error URI to use as the ABORT reason. */
  readonly uri: string;

  /**
   * @param code - stable error code
   * @param message - what went wrong (never contains secrets)
   * @param uri - ABORT reason; defaults by code (see the module table)
   */
  constructor(code: WampAuthErrorCode, message: string, uri?: string) {
    super(message);
    this.name = 'WampAuthError';
    this.code = code;
    this.uri = uri ?? defaultUri(code);
  }
}

function defaultUri(code: WampAuthErrorCode): string {
  switch (code) {
    case 'WAMP_ERR_AUTH_ROUTER_NOT_VERIFIED':
    case 'WAMP_ERR_AUTH_INVALID_HELLO':
    case 'WAMP_ERR_AUTH_FAILED':
      return URI_AUTHENTICATION_FAILED;
    default:
      return URI_CANNOT_AUTHENTICATE;
  }
}

/** @internal A malformed CHALLENGE.Extra (client side). */
export function badChallenge(method: string, detail: string): WampAuthError {
  return new WampAuthError('WAMP_ERR_AUTH_INVALID_CHALLENGE', `${method} CHALLENGE: ${detail}`);
}

/** @internal A malformed HELLO.Details.authextra (router side). */
export function badHello(method: string, detail: string): WampAuthError {
  return new WampAuthError('WAMP_ERR_AUTH_INVALID_HELLO', `${method} HELLO: ${detail}`);
}
