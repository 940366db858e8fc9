/** A promise the test settles by hand, so ordering tests need no timers. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued microtask and timer callback run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

/** Resolves when the signal fires, so a call can "hang" until it is cancelled. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** An async source of 0, 1, 2, … (up to `length`) that counts how many inputs were read and whether it was closed. */
export function countingSource(length = Number.POSITIVE_INFINITY) {
  const state = { reads: 0, closed: false };
  async function* generate() {
    try {
      for (let i = 0; i < length; i++) {
        state.reads++;
        yield i;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, source: generate() };
}
