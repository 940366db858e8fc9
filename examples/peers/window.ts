/**
 * Sliding-window bookkeeping shared by every peer. Two events share a window when they are less
 * than `windowMs` apart, so "at most `limit` per window" means no half-open interval
 * [t, t + windowMs) ever holds more than `limit` of accepted weight. Times are milliseconds from
 * one monotonic clock (the peers use `performance.now()`); the caller passes them in, so tests
 * can drive the window with a fake clock.
 */
export class SlidingWindow {
  // Parallel arrays used as a deque: `head` is the oldest live event. Storing the running total
  // after each event turns "weight freed once events 0..i expire" into one subtraction, and keeps
  // it monotonic so `waitMs` can binary-search it.
  private readonly times: number[] = [];
  private readonly runningTotals: number[] = [];
  private head = 0;
  private expiredTotal = 0;
  private recordedTotal = 0;
  private worstSeen = 0;

  constructor(
    readonly windowMs: number,
    readonly limit: number,
  ) {
    if (!(windowMs > 0 && Number.isFinite(windowMs))) {
      throw new RangeError(`Expected \`windowMs\` to be a number > 0, got \`${windowMs}\``);
    }
    if (!(limit > 0)) throw new RangeError(`Expected \`limit\` to be > 0, got \`${limit}\``);
  }

  /** Accepted weight in the window that ends at `now`. */
  used(now: number): number {
    this.expire(now);
    return this.recordedTotal - this.expiredTotal;
  }

  /**
   * Milliseconds until `weight` more fits under the limit: 0 when it fits now, Infinity when it
   * can never fit (it is larger than the limit itself). Waiting exactly this long is enough.
   */
  waitMs(now: number, weight = 1): number {
    if (weight > this.limit) return Number.POSITIVE_INFINITY;
    const excess = this.used(now) + weight - this.limit;
    if (excess <= 0) return 0;
    // The first live event whose expiry frees at least `excess`; everything before it expires first.
    const target = this.expiredTotal + excess;
    let low = this.head;
    let high = this.times.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.runningTotals[middle] as number) >= target) high = middle;
      else low = middle + 1;
    }
    return (this.times[low] as number) + this.windowMs - now;
  }

  /** Records accepted weight at `now`; `now` must not go backwards. */
  record(now: number, weight = 1): void {
    const last = this.times[this.times.length - 1];
    if (last !== undefined && now < last) {
      throw new RangeError(`Time went backwards: ${now} after ${last}`);
    }
    this.expire(now);
    this.recordedTotal += weight;
    this.times.push(now);
    this.runningTotals.push(this.recordedTotal);
    // Every window's worst moment ends on an event, so checking after each record is exact.
    this.worstSeen = Math.max(this.worstSeen, this.recordedTotal - this.expiredTotal);
  }

  /** Records `weight` if it fits and returns 0; otherwise records nothing and returns the wait. */
  tryTake(now: number, weight = 1): number {
    const wait = this.waitMs(now, weight);
    if (wait === 0) this.record(now, weight);
    return wait;
  }

  /** The most weight ever held by one window. */
  get worst(): number {
    return this.worstSeen;
  }

  private expire(now: number): void {
    const cutoff = now - this.windowMs;
    const { times } = this;
    while (this.head < times.length && (times[this.head] as number) <= cutoff) {
      this.expiredTotal = this.runningTotals[this.head] as number;
      this.head += 1;
    }
    // Dropping the expired prefix only once it is most of the array keeps each event's share of
    // the copying constant: amortised O(1) per event.
    if (this.head >= 1024 && this.head * 2 >= times.length) {
      times.splice(0, this.head);
      this.runningTotals.splice(0, this.head);
      this.head = 0;
    }
  }
}

/**
 * The most weight in any window of `windowMs` over a finished log, for checking a peer's records
 * independently of the `SlidingWindow` that produced them. `weights` defaults to 1 per event.
 */
export function worstWindow(
  times: readonly number[],
  windowMs: number,
  weights?: readonly number[],
): number {
  const order = times.map((_, index) => index).sort((a, b) => (times[a] ?? 0) - (times[b] ?? 0));
  let worst = 0;
  let sum = 0;
  let start = 0;
  for (let end = 0; end < order.length; end += 1) {
    const endIndex = order[end] as number;
    sum += weights?.[endIndex] ?? 1;
    const endTime = times[endIndex] as number;
    while ((times[order[start] as number] as number) <= endTime - windowMs) {
      sum -= weights?.[order[start] as number] ?? 1;
      start += 1;
    }
    worst = Math.max(worst, sum);
  }
  return worst;
}
