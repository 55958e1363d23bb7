/**
 * Timeouts of many connections on one interval timer. A connection's
 * handshake arms and clears a timeout three times (HELLO, authentication,
 * the next HELLO after GOODBYE); a Node timer each time was ~2 % of the
 * router's CPU per handshake (bench:router). Here arming is a Set insert and
 * a timestamp; a timeout fires within one tick after its deadline.
 *
 * @module
 */

/** Something with a deadline (epoch ms) and what to do when it passes. */
export interface Expiring {
  /** When (Date.now() scale) {@link expire} is due. */
  readonly deadline: number;
  /** The deadline passed (called once; the item is no longer tracked). */
  expire(): void;
}

/** Checks its items every `tickMs`; runs only while it tracks some, and never keeps the process alive. */
export class DeadlineSweeper<T extends Expiring> {
  private readonly items = new Set<T>();
  private timer: ReturnType<typeof setInterval> | null = null;

  /** @param tickMs - how often deadlines are checked (the timeouts' precision) */
  constructor(private readonly tickMs: number) {}

  /** Tracks `item` (again) from now on; its `deadline` is read at each tick. */
  add(item: T): void {
    this.items.add(item);
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), this.tickMs);
      // Node: an idle router must not keep the process alive for a timeout.
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Stops tracking `item` (the timer itself stops at the next tick without items). */
  delete(item: T): void {
    this.items.delete(item);
  }

  /** Items tracked now. */
  get size(): number {
    return this.items.size;
  }

  /** Stops the timer and forgets every item without expiring it. */
  clear(): void {
    this.items.clear();
    this.stop();
  }

  private sweep(): void {
    const now = Date.now();
    for (const item of this.items) {
      if (item.deadline > now) continue;
      this.items.delete(item);
      item.expire();
    }
    if (this.items.size === 0) this.stop();
  }

  private stop(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

/**
 * The tick for a set of timeouts: a quarter of the shortest, between 5 ms
 * and 1 s (so a timeout fires at most ~25 % late, and never more than 1 s).
 *
 * @param timeouts - the timeouts in ms
 * @returns the tick in ms
 */
export function tickFor(...timeouts: number[]): number {
  return Math.max(5, Math.min(1000, Math.floor(Math.min(...timeouts) / 4)));
}
