import { epochNow } from './reserve.ts';
import type { PacingOptions } from './types.ts';
import { checkPacing } from './validate.ts';

/** Spaces the items of ONE worker, as a polite scraper sleeps between pages. */
export interface Pacer {
  /** Resolves when the next item may start; rejects with the signal's reason if aborted. */
  wait(signal?: AbortSignal): Promise<void>;
}

export interface PacerDeps {
  now?: () => number;
  /** A number in [0, 1), as Math.random. */
  random?: () => number;
}

/**
 * One pacer per worker: each item starts at least `minIntervalMs`, plus up to `jitterMs` at
 * random, after the previous one started. The first item starts at once.
 */
export function createPacer(options: PacingOptions, deps: PacerDeps = {}): Pacer {
  const { minIntervalMs, jitterMs } = checkPacing(options);
  const now = deps.now ?? epochNow;
  const random = deps.random ?? Math.random;
  let next = Number.NEGATIVE_INFINITY;
  return {
    wait(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      // The slot is taken before sleeping, so even overlapping calls stay spaced.
      const at = Math.max(now(), next);
      next = at + minIntervalMs + random() * jitterMs;
      const ms = at - now();
      return ms > 0 ? sleepUnlessAborted(ms, signal) : Promise.resolve();
    },
  };
}

/** Waits `ms`, or rejects with the signal's reason as soon as it fires (at once if it already has). */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
