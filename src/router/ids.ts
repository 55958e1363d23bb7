/**
 * WAMP ID generation (basic profile "IDs"): global scope IDs (sessions,
 * publications) drawn at random from [1, 2^53]; router scope IDs
 * (subscriptions, registrations) and session scope IDs (INVOCATION requests)
 * counting up from 1.
 *
 * @module
 */
import { MAX_WAMP_ID } from '../wamp/uri.js';

/**
 * A random integer in [1, 2^53] ("global scope": random, uniformly
 * distributed). Uses `crypto.getRandomValues` (present in every runtime we
 * support) so IDs are not predictable from earlier ones.
 *
 * @returns a fresh global-scope ID
 */
export function randomId(): number {
  const words = new Uint32Array(2);
  crypto.getRandomValues(words);
  // 53 random bits: 21 from the first word, 32 from the second; +1 maps [0, 2^53) onto [1, 2^53].
  return (words[0]! & 0x1fffff) * 0x100000000 + words[1]! + 1;
}

/** Sequential IDs 1, 2, 3, ... wrapping back to 1 after 2^53 (router and session scope). */
export class IdSequence {
  private last = 0;

  /** @returns the next ID */
  next(): number {
    this.last = this.last >= MAX_WAMP_ID ? 1 : this.last + 1;
    return this.last;
  }

  /** The last ID handed out (0 before the first). */
  get current(): number {
    return this.last;
  }
}
