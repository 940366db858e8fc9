/** What one released permit spent, and when. `settle` corrects `cost` while it is in the window. */
export interface Spend {
  readonly at: number;
  cost: number;
  inWindow: boolean;
}

const epsilon = 1e-9;

/**
 * The exact record of what this limiter released in the last period: the hard guarantee that no
 * sliding window holds more than the budget. The GCRA schedule alone keeps slots apart, but a
 * permit released late (a busy event loop) followed by one on time, or a cost of 10 right after a
 * cost of 1, would squeeze more than the budget into some window; this record holds the next permit
 * back until the window has room. It costs one entry per permit released in the last period.
 */
export class SpendWindow {
  #spends: Spend[] = [];
  #head = 0;
  #sum = 0;

  constructor(
    readonly budget: number,
    readonly periodMs: number,
  ) {}

  /** The earliest time >= t at which `cost` more keeps every window within the budget. */
  fitsAt(cost: number, t: number): number {
    this.#expire(t);
    let excess = this.#sum + cost - this.budget;
    if (excess <= epsilon) return t;
    for (let i = this.#head; i < this.#spends.length; i++) {
      const spend = this.#spends[i] as Spend;
      excess -= spend.cost;
      if (excess <= epsilon) return spend.at + this.periodMs;
    }
    // Only a cost above the whole budget gets here, and acquire refuses those.
    return Number.POSITIVE_INFINITY;
  }

  add(at: number, cost: number): Spend {
    const spend: Spend = { at, cost, inWindow: true };
    this.#spends.push(spend);
    this.#sum += cost;
    return spend;
  }

  /** Records that a spend really cost `cost`. */
  correct(spend: Spend, cost: number): void {
    if (spend.inWindow) this.#sum += cost - spend.cost;
    spend.cost = cost;
  }

  #expire(t: number): void {
    const spends = this.#spends;
    while (this.#head < spends.length) {
      const spend = spends[this.#head] as Spend;
      if (spend.at + this.periodMs > t) break;
      spend.inWindow = false;
      this.#sum -= spend.cost;
      this.#head++;
    }
    if (this.#head === spends.length) {
      this.#spends = [];
      this.#head = 0;
      this.#sum = 0;
    } else if (this.#head > 1024 && this.#head * 2 > spends.length) {
      this.#spends = spends.slice(this.#head);
      this.#head = 0;
    }
  }
}
