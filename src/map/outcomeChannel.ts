/** The end of iteration; shared, as nobody keeps it. */
export const DONE: IteratorReturnResult<undefined> = Object.freeze({
  done: true,
  value: undefined,
});

interface Waiter<T> {
  resolve(result: IteratorResult<T, undefined>): void;
  reject(error: unknown): void;
}

interface Collector<T> {
  readonly results: T[];
  resolve(results: T[]): void;
  reject(error: unknown): void;
}

/**
 * Where finished outcomes wait for the consumer: either an iterator's `next()` calls, or
 * `toArray()`. Outcomes sit in a fixed ring; the map never has more than `size` inputs taken but not
 * yet consumed, so each held outcome has a slot of its own (its index in input order, otherwise the
 * next free position). A fixed ring keeps memory flat and needs no `shift()` on the hot path.
 */
export class OutcomeChannel<T extends { readonly index: number }> {
  private readonly slots: (T | undefined)[];
  private consumedCount = 0;
  private held = 0;
  private readonly waiters: Waiter<T>[] = [];
  private collector: Collector<T> | undefined;
  /** An error for the next `next()`, when nobody was waiting as it happened. */
  private failure: { error: unknown } | undefined;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly ordered: boolean,
  ) {
    this.slots = new Array<T | undefined>(size).fill(undefined);
  }

  /** Outcomes the consumer has had so far. */
  get consumed(): number {
    return this.consumedCount;
  }

  get collecting(): boolean {
    return this.collector !== undefined;
  }

  /** Switches to collecting every outcome into an array, which `end()` resolves. */
  collect(): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.collector = { results: [], resolve, reject };
    });
  }

  push(outcome: T): void {
    const collector = this.collector;
    if (collector !== undefined) {
      if (this.ordered) collector.results[outcome.index] = outcome;
      else collector.results.push(outcome);
      this.consumedCount++;
      return;
    }
    const position = this.ordered ? outcome.index : this.consumedCount + this.held;
    this.slots[position % this.size] = outcome;
    this.held++;
    while (this.waiters.length > 0) {
      const ready = this.take();
      if (ready === undefined) break;
      this.waiters.shift()?.resolve({ done: false, value: ready });
    }
  }

  next(): Promise<IteratorResult<T, undefined>> {
    const ready = this.take();
    if (ready !== undefined) return Promise.resolve({ done: false, value: ready });
    if (this.failure !== undefined) {
      const { error } = this.failure;
      this.failure = undefined;
      return Promise.reject(error);
    }
    if (this.closed) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Every outcome has been pushed. */
  end(): void {
    this.closed = true;
    this.collector?.resolve(this.collector.results);
    for (const waiter of this.waiters.splice(0)) waiter.resolve(DONE);
  }

  /** Ends with `error` for the consumer (undefined when the consumer itself stopped); drops what is held. */
  fail(error: unknown): void {
    this.closed = true;
    this.slots.fill(undefined);
    this.held = 0;
    const waiters = this.waiters.splice(0);
    if (error === undefined) {
      for (const waiter of waiters) waiter.resolve(DONE);
    } else if (this.collector !== undefined) {
      this.collector.reject(error);
    } else if (waiters.length > 0) {
      waiters[0]?.reject(error);
      for (const waiter of waiters.slice(1)) waiter.resolve(DONE);
    } else {
      this.failure = { error };
    }
  }

  private take(): T | undefined {
    const slot = this.consumedCount % this.size;
    const outcome = this.slots[slot];
    if (outcome !== undefined) {
      this.slots[slot] = undefined;
      this.held--;
      this.consumedCount++;
    }
    return outcome;
  }
}
