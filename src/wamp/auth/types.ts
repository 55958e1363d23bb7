/**
 * The contract between a WAMP session and one authentication method, client side.
 *
 * The session puts every authenticator's `method` into HELLO.Details.authmethods
 * (in the given order) and merges their `authextra`; when the router sends
 * CHALLENGE for a method, that authenticator answers it; when WELCOME arrives,
 * the chosen authenticator may verify the router (SCRAM's server signature,
 * cryptosign router authentication) and fail the join if it does not check out.
 *
 * @module
 */
import type { WampDict } from '../uri.js';

/** What an authenticator may know about the channel (for channel binding). */
export interface AuthChannel {
  /** TLS channel binding, when the transport provides one. */
  channelBinding?: { type: string; data: Uint8Array };
}

/** An answer to a CHALLENGE: the AUTHENTICATE.Signature, and optional AUTHENTICATE.Extra. */
export type ChallengeResponse = string | { signature: string; extra?: WampDict };

/** Client side of one authentication method (anonymous, ticket, wampcra, cryptosign, scram, or your own). */
export interface ClientAuthenticator {
  /** The authmethod name announced in HELLO, e.g. `'cryptosign'`. */
  readonly method: string;
  /** Contribution to HELLO.Details.authextra (e.g. `{ pubkey }` for cryptosign). */
  readonly authextra?: WampDict;
  /** The authid this method needs, if it carries one (e.g. SCRAM's username). */
  readonly authid?: string;
  /** Answers CHALLENGE.Extra for this method. May be async. */
  onChallenge(extra: WampDict, channel: AuthChannel): ChallengeResponse | Promise<ChallengeResponse>;
  /**
   * Checks WELCOME.Details (e.g. WELCOME.Details.authextra.scram_server_signature).
   * Throws to reject the router; the session then leaves with
   * `wamp.error.authentication_failed`.
   */
  onWelcome?(details: WampDict): void;
}
