/**
 * WAMP identifiers: URIs and IDs (WAMP basic profile, "Identifiers").
 *
 * Also the small type guards the message validator shares (`isDict`, `isList`).
 *
 * @module
 */

/** Largest WAMP ID: 2^53 (spec "IDs": integers between (inclusive) 1 and 2^53). */
export const MAX_WAMP_ID = 9007199254740992;

/**
 * Which URI components may be empty (zero-length).
 *
 * - `'none'`: every component non-empty (all normal URIs).
 * - `'last'`: only the last component may be empty — prefix-based
 *   subscriptions/registrations (`match: "prefix"`, e.g. `com.myapp.`), as in
 *   autobahn's `allow_last_empty`.
 * - `'all'`: any component may be empty — wildcard-based
 *   subscriptions/registrations (`match: "wildcard"`, e.g. `com..update`).
 */
export type EmptyComponents = 'none' | 'last' | 'all';

/** Options for {@link isValidUri}. */
export interface UriCheckOptions {
  /**
   * Strict rules: components only `[0-9a-z_]` (spec: "SHOULD"). Default `false`:
   * loose rules, components must not contain `.`, `#` or whitespace (spec: "MUST").
   */
  strict?: boolean;
  /** Which components may be empty; default `'none'`. */
  empty?: EmptyComponents;
}

// Applied to one component at a time (after splitting on "."), which keeps the
// check linear: the spec's whole-URI regexes nest quantifiers and backtrack
// quadratically on long hostile input.
const STRICT_COMPONENT = /^[0-9a-z_]+$/;
// Spec (loose): components "MUST NOT contain a `.`, `#` or whitespace characters".
const LOOSE_COMPONENT = /^[^\s.#]+$/;

/**
 * Checks a WAMP URI against the spec's rules (WAMP basic profile, "URIs").
 * Equivalent to the spec's regular expressions: loose
 * `^([^\s\.#]+\.)*([^\s\.#]+)$`, strict `^([0-9a-z_]+\.)*([0-9a-z_]+)$`, and their
 * empty-component variants.
 *
 * @param uri - the value to check (anything; non-strings are invalid)
 * @param opts - strict or loose rules, and which components may be empty
 * @returns whether `uri` is a valid URI under those rules
 */
export function isValidUri(uri: unknown, opts: UriCheckOptions = {}): uri is string {
  if (typeof uri !== 'string') return false;
  const component = opts.strict ? STRICT_COMPONENT : LOOSE_COMPONENT;
  const empty = opts.empty ?? 'none';
  const parts = uri.split('.');
  const last = parts.length - 1;
  for (let i = 0; i <= last; i++) {
    const part = parts[i]!;
    if (part.length === 0) {
      if (empty === 'all' || (empty === 'last' && i === last)) continue;
      return false;
    }
    if (!component.test(part)) return false;
  }
  return true;
}

/**
 * Which components may be empty for a SUBSCRIBE/REGISTER with the given
 * `Options.match` (advanced profile, pattern-based subscription/registration).
 *
 * @param match - the `match` option (`"exact"`, `"prefix"`, `"wildcard"` or absent)
 * @returns `'last'` for prefix, `'all'` for wildcard, else `'none'`
 */
export function emptyComponentsForMatch(match: unknown): EmptyComponents {
  if (match === 'prefix') return 'last';
  if (match === 'wildcard') return 'all';
  return 'none';
}

/**
 * Whether `n` is a WAMP ID: an integer in [1, 2^53] (spec "IDs").
 *
 * @param n - the value to check
 * @returns true for numbers that are integers in range
 */
export function isWampId(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_WAMP_ID;
}

/**
 * Reads a WAMP ID that a decoder may have produced as a `number` or a `bigint`
 * (64-bit integer decoders do for large values).
 *
 * @param n - the decoded value
 * @returns the ID as a number, or `undefined` if `n` is not an ID in [1, 2^53]
 */
export function toWampId(n: unknown): number | undefined {
  if (typeof n === 'bigint') return n >= 1n && n <= BigInt(MAX_WAMP_ID) ? Number(n) : undefined;
  return isWampId(n) ? n : undefined;
}

/** A WAMP `dict`: a plain object with string keys. */
export type WampDict = Record<string, unknown>;

/** A WAMP `list`. */
export type WampList = unknown[];

/**
 * Whether `v` is a WAMP `dict`: a plain object (prototype `Object.prototype` or
 * `null`), not an array, typed array, Map, Date or class instance.
 *
 * @param v - the value to check
 * @returns true for plain objects
 */
export function isDict(v: unknown): v is WampDict {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Whether `v` is a WAMP `list` (a JavaScript array).
 *
 * @param v - the value to check
 * @returns true for arrays
 */
export function isList(v: unknown): v is WampList {
  return Array.isArray(v);
}
