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
  // One getRandomValues call per 256 IDs instead of one per ID (it was ~1.7 %
  // of router CPU in the handshake benchmark, bench:router).
  if (poolAt === POOL_WORDS) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const hi = pool[poolAt]!;
  const lo = pool[poolAt + 1]!;
  poolAt += 2;
  // 53 random bits: 21 from the first word, 32 from the second; +1 maps [0, 2^53) onto [1, 2^53].
  return (hi & 0x1fffff) * 0x100000000 + lo + 1;
}

const POOL_WORDS = 512;
const pool = new Uint32Array(POOL_WORDS);
let poolAt = POOL_WORDS;

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const TOKEN_POOL = 4096;
const tokenPool = new Uint8Array(TOKEN_POOL);
let tokenAt = TOKEN_POOL;

/**
 * A random string of `length` characters from [A-Za-z0-9] (anonymous
 * authids, unguessable placeholders). Bytes come from a pool refilled by
 * `crypto.getRandomValues` (one call per ~170 tokens of 24 characters: one
 * call per token was ~2 % of router CPU per handshake, bench:router).
 * Each character carries log2(62) ≈ 5.95 bits, with a slight bias (256 mod 62).
 *
 * @param length - characters wanted
 * @returns the token
 */
export function randomToken(length: number): string {
  if (tokenAt + length > TOKEN_POOL) {
    crypto.getRandomValues(tokenPool);
    tokenAt = 0;
  }
  let s = '';
  for (let i = 0; i < length; i++) s += TOKEN_ALPHABET[tokenPool[tokenAt++]! % 62];
  return s;
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
