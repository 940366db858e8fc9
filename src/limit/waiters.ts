import type { Permit } from './types.ts';

/** One pending `acquire`. */
export interface Waiter {
  readonly cost: number;
  resolve: (permit: Permit) => void;
  reject: (reason: unknown) => void;
  done: boolean;
  /** Detaches the abort listener. */
  detach?: () => void;
}

/**
 * The acquirers in arrival order. An aborted one is only marked done and skipped later, so an
 * abort costs O(1) however long the queue.
 */
export class Waiters {
  #queue: Waiter[] = [];
  #head = 0;
  /** Units the waiting acquirers want in all. */
  units = 0;

  add(waiter: Waiter): void {
    this.#queue.push(waiter);
    this.units += waiter.cost;
  }

  first(): Waiter | undefined {
    const queue = this.#queue;
    while (this.#head < queue.length && (queue[this.#head] as Waiter).done) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
    return this.#queue[this.#head];
  }

  /** Takes a waiter out of the line, whether it is served, aborted or failed. */
  finish(waiter: Waiter): void {
    if (waiter.done) return;
    waiter.done = true;
    this.units -= waiter.cost;
    waiter.detach?.();
  }

  /** Rejects everyone still waiting; returns how many there were. */
  rejectAll(reason: unknown): number {
    const waiting = this.#queue.slice(this.#head).filter((waiter) => !waiter.done);
    this.#queue = [];
    this.#head = 0;
    for (const waiter of waiting) {
      this.finish(waiter);
      waiter.reject(reason);
    }
    return waiting.length;
  }
}
