/**
 * Reconnect timing, as Autobahn names it: `initial_retry_delay`,
 * `max_retry_delay`, `retry_delay_growth`, `retry_delay_jitter`,
 * `max_retries` (Autobahn|JS `Connection` options, in seconds).
 *
 * The delay before retry *n* (0-based, counted since the last successful
 * join) is `min(max, initial × growth^n)`, then jittered uniformly by
 * `± jitter × delay` and clamped to `[0, max]`. Uniform rather than
 * Autobahn's normal distribution, so the bounds are hard: a test (or an
 * operator) can state exactly the window a retry falls in. The random source
 * is injectable for deterministic tests.
 *
 * @module
 */

/** Reconnect settings. Delays in seconds, as in Autobahn. */
export interface RetryOptions {
  /** Delay before the first retry, s. Default 1.5. */
  initial_retry_delay?: number;
  /** Longest delay, s. Default 300. */
  max_retry_delay?: number;
  /** Factor applied per retry. Default 1.5. */
  retry_delay_growth?: number;
  /** Relative jitter in [0, 1]: ±10 % with 0.1. Default 0.1. */
  retry_delay_jitter?: number;
  /** Retries after a failure before giving up; -1 retries forever. Default 15. */
  max_retries?: number;
}

/** Resolved {@link RetryOptions}. */
export type RetrySettings = Required<RetryOptions>;

/** Autobahn|JS defaults, except `max_retries` 15 where Autobahn|JS also uses 15. */
export const DEFAULT_RETRY: Readonly<RetrySettings> = Object.freeze({
  initial_retry_delay: 1.5,
  max_retry_delay: 300,
  retry_delay_growth: 1.5,
  retry_delay_jitter: 0.1,
  max_retries: 15,
});

/**
 * Validates and fills in retry settings.
 * @throws {RangeError} naming the bad setting
 */
export function retrySettings(options: RetryOptions = {}): RetrySettings {
  const s: RetrySettings = { ...DEFAULT_RETRY, ...stripUndefined(options) };
  const check = (name: keyof RetrySettings, ok: boolean, want: string): void => {
    if (!ok) throw new RangeError(`${name} must be ${want}, got ${String(s[name])}`);
  };
  check('initial_retry_delay', Number.isFinite(s.initial_retry_delay) && s.initial_retry_delay >= 0, 'a number ≥ 0');
  check('max_retry_delay', Number.isFinite(s.max_retry_delay) && s.max_retry_delay >= s.initial_retry_delay, 'a number ≥ initial_retry_delay');
  check('retry_delay_growth', Number.isFinite(s.retry_delay_growth) && s.retry_delay_growth >= 1, 'a number ≥ 1');
  check('retry_delay_jitter', Number.isFinite(s.retry_delay_jitter) && s.retry_delay_jitter >= 0 && s.retry_delay_jitter <= 1, 'a number in [0, 1]');
  check('max_retries', Number.isInteger(s.max_retries) && s.max_retries >= -1, 'an integer ≥ -1');
  return s;
}

function stripUndefined(o: RetryOptions): RetryOptions {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as RetryOptions;
}

/**
 * The retry schedule of one connection: ask {@link nextDelay} after each
 * failure, call {@link reset} after each successful join.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from 'autostrada';
 * const policy = new RetryPolicy({ initial_retry_delay: 1, retry_delay_growth: 2, retry_delay_jitter: 0, max_retries: 3 });
 * console.assert(policy.nextDelay() === 1000);
 * console.assert(policy.nextDelay() === 2000);
 * console.assert(policy.nextDelay() === 4000);
 * console.assert(policy.nextDelay() === null); // gave up after 3 retries
 * ```
 */
export class RetryPolicy {
  readonly settings: RetrySettings;
  private retries = 0;
  private readonly random: () => number;

  /**
   * @param options - the Autobahn-named settings
   * @param random - a source of uniform numbers in [0, 1) (default Math.random)
   */
  constructor(options: RetryOptions = {}, random: () => number = Math.random) {
    this.settings = retrySettings(options);
    this.random = random;
  }

  /** Retries made since the last {@link reset}. */
  get attempts(): number {
    return this.retries;
  }

  /** The delay before the next retry in ms, or `null` when retries are exhausted. Counts the retry. */
  nextDelay(): number | null {
    const s = this.settings;
    if (s.max_retries !== -1 && this.retries >= s.max_retries) return null;
    const base = Math.min(s.max_retry_delay, s.initial_retry_delay * s.retry_delay_growth ** this.retries);
    this.retries++;
    const jittered = base * (1 + s.retry_delay_jitter * (2 * this.random() - 1));
    return Math.round(Math.min(s.max_retry_delay, Math.max(0, jittered)) * 1000);
  }

  /** A join succeeded: the next failure starts again from the initial delay. */
  reset(): void {
    this.retries = 0;
  }
}
