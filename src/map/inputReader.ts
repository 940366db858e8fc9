import type { MapInputs } from './types.ts';

/** Returned by `nextSync` when the inputs are used up. */
export const END: unique symbol = Symbol('end of inputs');

/**
 * Reads `parallelMap`'s inputs one at a time, whatever they are: an array by index (no iterator
 * result per item), a sync iterable, or an async iterable that the map pulls itself so that it
 * reads only as far as it has room to start.
 */
export class InputReader<I> {
  private readonly items: readonly I[] | undefined;
  private readonly iterator: Iterator<I> | undefined;
  private readonly asyncIterator: AsyncIterator<I> | undefined;
  private position = 0;

  constructor(inputs: MapInputs<I>) {
    if (Array.isArray(inputs)) this.items = inputs;
    else if (Symbol.asyncIterator in inputs) this.asyncIterator = inputs[Symbol.asyncIterator]();
    else this.iterator = (inputs as Iterable<I>)[Symbol.iterator]();
  }

  get isAsync(): boolean {
    return this.asyncIterator !== undefined;
  }

  /** The next input of an array or sync iterable, or END. */
  nextSync(): I | typeof END {
    const items = this.items;
    if (items !== undefined) {
      return this.position < items.length ? (items[this.position++] as I) : END;
    }
    const next = (this.iterator as Iterator<I>).next();
    return next.done ? END : next.value;
  }

  /** The next input of an async iterable; the map never has two of these pending at once. */
  nextAsync(): Promise<IteratorResult<I>> {
    return (this.asyncIterator as AsyncIterator<I>).next();
  }

  /** Closes the source early, as `break` in `for await` would, so its `finally` blocks run. */
  async close(pulling: boolean): Promise<void> {
    if (this.iterator !== undefined) {
      this.iterator.return?.();
    } else if (this.asyncIterator?.return !== undefined) {
      const closing = this.asyncIterator.return();
      // An async generator closes only after a pending `next()` settles; `break` should not wait
      // for a slow source, so then the close finishes in the background.
      if (pulling) Promise.resolve(closing).catch(() => {});
      else await closing;
    }
  }
}
