/**
 * Timeouts of many objects on one interval timer. A router arms and clears a
 * timeout several times per connection (HELLO, authentication, the next HELLO
 * after GOODBYE) and every WebSocket connection arms one when it closes; a
 * runtime timer each time (an object, a closure, a timer-list insert) was a
 * few percent of the CPU per handshake (bench:router, bench:ws). Here arming
 * is a Map insert and a timestamp; a timeout fires within one tick after its
 * deadline.
 *
 * @module
 */

/**
 * Deadlines (epoch ms) of items; `onExpire(item)` runs once for each item
 * whose deadline passed (checked every `tickMs`). Its timer runs only while
 * it tracks items, and never keeps a Node process alive.
 *
 * @example
 * ```ts
 * const expired: string[] = [];
 * const timeouts = new Deadlines<string>(10, (name) => expired.push(name));
 * timeouts.set('slow', Date.now() + 20); // expires ~20 ms from now...
 * timeouts.set('quick', Date.now() + 20);
 * timeouts.delete('quick'); // ...unless deleted first
 * await new Promise((resolve) => setTimeout(resolve, 80));
 * console.assert(expired.join() === 'slow');
 * ```
 */
export class Deadlines<T> {
  private readonly items = new Map<T, number>();
  private timer: ReturnType<typeof setInterval> | null = null;

  /**
   * @param tickMs - how often deadlines are checked (the timeouts' precision)
   * @param onExpire - what to do with an item whose deadline passed (it is no longer tracked then)
   */
  constructor(
    private readonly tickMs: number,
    private readonly onExpire: (item: T) => void,
  ) {}

  /** Tracks `item` until `at` (Date.now() scale), replacing an earlier deadline of it. */
  set(item: T, at: number): void {
    this.items.set(item, at);
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), this.tickMs);
      const t = this.timer as { unref?: () => void };
      if (typeof t.unref === 'function') t.unref();
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
    for (const [item, at] of this.items) {
      if (at > now) continue;
      this.items.delete(item);
      this.onExpire(item);
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
