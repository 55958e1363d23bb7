/**
 * URI patterns: exact, prefix and wildcard matching (advanced profile
 * "Pattern-based Subscription" and "Pattern-based Registration"), and the
 * spec's precedence for picking ONE best match (registrations, permissions):
 *
 * 1. an exact match;
 * 2. else the longest prefix match;
 * 3. else the wildcard match with the longest run of literal components
 *    before the first wildcard, then before the second, and so on
 *    (`a1.b2.c33..e5` beats `a1.b2..d4.e5` for `a1.b2.c33.d4.e5`).
 *
 * @module
 */

/** How a subscription/registration/permission URI matches (`Options.match`). */
export type MatchPolicy = 'exact' | 'prefix' | 'wildcard';

/**
 * Reads `Options.match` (already validated by the message parser).
 *
 * @param match - the option value
 * @returns the policy, `'exact'` when absent
 */
export function matchPolicyOf(match: unknown): MatchPolicy {
  return match === 'prefix' || match === 'wildcard' ? match : 'exact';
}

interface WildcardEntry<T> {
  readonly parts: readonly string[];
  /** Lengths of the runs of literal components, e.g. `a.b..d` → [2, 1]; compared lexicographically. */
  readonly rank: readonly number[];
  readonly value: T;
}

function wildcardRank(parts: readonly string[]): number[] {
  const rank: number[] = [];
  let run = 0;
  for (const p of parts) {
    if (p === '') {
      rank.push(run);
      run = 0;
    } else {
      run++;
    }
  }
  rank.push(run);
  return rank;
}

/** Positive when `a` is more specific than `b`. */
function compareRank(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function wildcardMatches(parts: readonly string[], uriParts: readonly string[]): boolean {
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p !== '' && p !== uriParts[i]) return false;
  }
  return true;
}

/**
 * A map from (URI pattern, match policy) to a value, with matching of concrete
 * URIs against all patterns. Exact lookups are O(1); prefix lookups probe the
 * shorter of (the prefixes of the URI, the prefix entries); wildcard entries are
 * grouped by component count.
 */
export class PatternMap<T> {
  private readonly exact = new Map<string, T>();
  private readonly prefix = new Map<string, T>();
  /** component count → pattern → entry */
  private readonly wildcard = new Map<number, Map<string, WildcardEntry<T>>>();
  private wildcardCount = 0;

  /** Number of patterns. */
  get size(): number {
    return this.exact.size + this.prefix.size + this.wildcardCount;
  }

  /** The value stored for exactly this pattern and policy. */
  get(uri: string, match: MatchPolicy): T | undefined {
    if (match === 'exact') return this.exact.get(uri);
    if (match === 'prefix') return this.prefix.get(uri);
    const parts = uri.split('.');
    return this.wildcard.get(parts.length)?.get(uri)?.value;
  }

  /** Stores `value` for the pattern (replacing any previous one). */
  set(uri: string, match: MatchPolicy, value: T): void {
    if (match === 'exact') this.exact.set(uri, value);
    else if (match === 'prefix') this.prefix.set(uri, value);
    else {
      const parts = uri.split('.');
      let group = this.wildcard.get(parts.length);
      if (!group) this.wildcard.set(parts.length, (group = new Map()));
      if (!group.has(uri)) this.wildcardCount++;
      group.set(uri, { parts, rank: wildcardRank(parts), value });
    }
  }

  /** Removes the pattern; returns whether it was there. */
  delete(uri: string, match: MatchPolicy): boolean {
    if (match === 'exact') return this.exact.delete(uri);
    if (match === 'prefix') return this.prefix.delete(uri);
    const n = uri.split('.').length;
    const group = this.wildcard.get(n);
    if (!group?.delete(uri)) return false;
    this.wildcardCount--;
    if (group.size === 0) this.wildcard.delete(n);
    return true;
  }

  /** Every value, optionally of one policy. */
  *values(match?: MatchPolicy): IterableIterator<T> {
    if (match === undefined || match === 'exact') yield* this.exact.values();
    if (match === undefined || match === 'prefix') yield* this.prefix.values();
    if (match === undefined || match === 'wildcard') {
      for (const group of this.wildcard.values()) for (const e of group.values()) yield e.value;
    }
  }

  /** Every value whose pattern matches the concrete `uri` (exact, then prefix, then wildcard). */
  *matchAll(uri: string): IterableIterator<T> {
    const exact = this.exact.get(uri);
    if (exact !== undefined) yield exact;
    if (this.prefix.size > 0) {
      if (this.prefix.size <= uri.length + 1) {
        for (const [p, v] of this.prefix) if (uri.startsWith(p)) yield v;
      } else {
        for (let i = 0; i <= uri.length; i++) {
          const v = this.prefix.get(uri.slice(0, i));
          if (v !== undefined) yield v;
        }
      }
    }
    if (this.wildcardCount > 0) {
      const uriParts = uri.split('.');
      const group = this.wildcard.get(uriParts.length);
      if (group) for (const e of group.values()) if (wildcardMatches(e.parts, uriParts)) yield e.value;
    }
  }

  /** The single best match for `uri` by the spec's precedence, or `undefined`. */
  best(uri: string): T | undefined {
    const exact = this.exact.get(uri);
    if (exact !== undefined) return exact;
    if (this.prefix.size > 0) {
      if (this.prefix.size <= uri.length + 1) {
        let bestLen = -1;
        let best: T | undefined;
        for (const [p, v] of this.prefix) {
          if (p.length > bestLen && uri.startsWith(p)) {
            bestLen = p.length;
            best = v;
          }
        }
        if (best !== undefined) return best;
      } else {
        for (let i = uri.length; i >= 0; i--) {
          const v = this.prefix.get(uri.slice(0, i));
          if (v !== undefined) return v;
        }
      }
    }
    if (this.wildcardCount > 0) {
      const uriParts = uri.split('.');
      const group = this.wildcard.get(uriParts.length);
      let best: WildcardEntry<T> | undefined;
      if (group) {
        for (const e of group.values()) {
          if (wildcardMatches(e.parts, uriParts) && (!best || compareRank(e.rank, best.rank) > 0)) best = e;
        }
      }
      return best?.value;
    }
    return undefined;
  }
}
