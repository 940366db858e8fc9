import { setTimeout as sleep } from 'node:timers/promises';
import type { AdaptiveCap } from '../limit/adaptive.ts';
import type { Pacer } from '../limit/pacing.ts';
import type { Permit, RateLimiter } from '../limit/types.ts';

/** The limits of one job in this process: its rate limiter, pacing per worker, and a shared pause. */
export interface JobLimits {
  readonly limiter?: RateLimiter;
  /** This process's adaptive cap, when the job asks for `maxParallelism: { start, max }`. */
  readonly adaptive?: AdaptiveCap;
  /** A fresh pacer for each worker, or undefined without pacing. */
  pacerFor(): Pacer | undefined;
  /** Estimated cost of one item (1 unless the rate limit has a cost function). */
  cost(item: unknown): number;
  /** Holds every worker until `untilMs`. */
  pauseAll(untilMs: number): void;
  /**
   * Calls `listener` with every new pause of the rate limiter, this process's own or one another
   * process announced; returns what stops it. Thread and process workers relay it this way.
   */
  watchPauses?(listener: (untilMs: number) => void): () => void;
  /** `ctx.limit.acquire` for a job's `run`: a permit, or just the end of any pause. */
  acquire(cost: number, signal: AbortSignal): Promise<Permit | undefined>;
  /**
   * Without a rate limiter, when the shared pause ends (epoch ms; past when none): an item that
   * finds no pause starts without waiting on `acquire`'s promise.
   */
  pausedUntil?(): number;
  close(): void;
}

/** Limits for a job without a rate limit or pacing: only the shared pause after a 429. */
export function pauseOnlyLimits(): JobLimits & { pausedUntil(): number } {
  let pausedUntil = 0;
  return {
    pausedUntil: () => pausedUntil,
    pacerFor: () => undefined,
    cost: () => 1,
    pauseAll(untilMs) {
      pausedUntil = Math.max(pausedUntil, untilMs);
    },
    async acquire(_cost, signal) {
      // Every item without a rate limit starts here: a cancelled job starts none, even if the
      // chunk around it has not noticed the abort yet.
      signal.throwIfAborted();
      const waitMs = pausedUntil - Date.now();
      if (waitMs > 0) await sleep(waitMs, undefined, { signal });
      return undefined;
    },
    close() {},
  };
}

/**
 * `ctx.limit` inside a task: `acquire` takes a permit (or waits out a pause), `settle` corrects
 * the latest one, which starts as the permit sluice took for the current item, if any.
 */
export function permitHandle(
  limits: Pick<JobLimits, 'acquire'>,
  signal: AbortSignal,
  first?: Permit,
): { acquire(cost?: number): Promise<void>; settle(actualCost: number): void } {
  let latest = first;
  return {
    async acquire(cost = 1) {
      latest = await limits.acquire(cost, signal);
    },
    settle(actualCost) {
      latest?.settle(actualCost);
    },
  };
}
