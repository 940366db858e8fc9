import type { RetryOptions } from '../job/types.ts';
import type { PacingOptions, Permit, RateLimiter, RateLimitOptions } from '../limit/types.ts';

/** What `parallelMap` reads its inputs from. */
export type MapInputs<I> = readonly I[] | Iterable<I> | AsyncIterable<I>;

/** Everything one call of the mapped function can use. */
export interface MapContext {
  /** The input's position in `inputs`, from 0. */
  readonly index: number;
  /** 1 on the first try, 2 on the first retry, and so on. */
  readonly attempt: number;
  /**
   * Fires when the call's result is no longer wanted: another item failed under `stopOnError`, the
   * consumer stopped iterating, or the caller's `signal` fired. Pass it to fetch, database calls
   * and sleeps so they stop early.
   */
  readonly signal: AbortSignal;
  /**
   * The rate-limit permit this try was admitted with, when `rateLimit` is set; call
   * `permit.settle(actualCost)` once the real cost (for example tokens used) is known.
   */
  readonly permit: Permit | undefined;
}

/** The function `parallelMap` runs on each input. */
export type MapFunction<I, O> = (input: I, ctx: MapContext) => Promise<O> | O;

/** One input that was mapped: its value. */
export interface MapSuccess<I, O> {
  readonly index: number;
  readonly input: I;
  readonly ok: true;
  readonly value: O;
}

/** One input whose last try threw: the error (non-Error throws are wrapped by `toError`). */
export interface MapFailure<I> {
  readonly index: number;
  readonly input: I;
  readonly ok: false;
  readonly error: Error;
}

/** What `parallelMap` yields for each input. */
export type MapOutcome<I, O> = MapSuccess<I, O> | MapFailure<I>;

/** Spaces the calls of one worker slot; `createPacer` from `src/limit/pacing.ts` makes one. */
export interface SlotPacer {
  /** Resolves when this slot may make its next call; rejects with the signal's reason if aborted. */
  wait(signal?: AbortSignal): Promise<void>;
}

/** `RateLimitOptions`, with `cost` typed for this map's inputs. */
export type MapRateLimit<I> =
  | { perSecond: number; cost?: never }
  | { perMinute: number; cost?: (input: I) => number };

/** Options of `parallelMap`; every default is in `parallelMapDefaults`. */
export interface ParallelMapOptions<I> {
  /** Calls running at once, retries and waits for limits included. Default 4, as for jobs. */
  maxParallelism?: number;
  /**
   * Finished outcomes held for a consumer that has not asked for them yet. No new input is taken
   * while `maxParallelism + buffer` taken inputs are not yet consumed, so a slow consumer (or, with
   * `ordered`, a slow early item) holds work back instead of growing memory. Default:
   * `maxParallelism`.
   */
  buffer?: number;
  /** Yield outcomes in input order instead of as they finish. Default false. */
  ordered?: boolean;
  /**
   * Stop at the first failed outcome: abort the other calls, read no more inputs, and throw a
   * `ParallelMapError` carrying the item's index. Default false: failures are yielded as outcomes.
   */
  stopOnError?: boolean;
  /**
   * Tries per input, with exponential backoff and equal jitter between them. A `PermanentError` is
   * never retried; after a `RateLimitedError` the next try waits at least its `retryAfterMs`, and
   * with `rateLimit` every slot waits too. Default: one try (`attempts: 1`, `baseMs: 1000`,
   * `maxMs: 30000`).
   */
  retry?: RetryOptions;
  /**
   * A rate for the whole map: each try first takes a permit of `cost(input)` units (default 1).
   * Call `ctx.permit.settle(actual)` when the real cost is known. Default: none.
   */
  rateLimit?: MapRateLimit<I>;
  /** Spacing between the calls of each worker slot, as a polite scraper sleeps between pages. Default: none. */
  pacing?: PacingOptions;
  /** Cancels the whole map: in-flight calls are aborted and iteration throws the signal's reason. */
  signal?: AbortSignal;
}

/** Injected for tests, as limiters and backoff take a clock. */
export interface ParallelMapDeps {
  /** Waits before a retry; must reject when the signal fires. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Source of jitter for the retry backoff. */
  random?: () => number;
  /** Makes the map's limiter from `rateLimit`. Default: `createRateLimiter`. */
  createRateLimiter?: (options: RateLimitOptions) => RateLimiter;
  /** Makes one slot's pacer from `pacing`. Default: `createPacer`. */
  createPacer?: (options: PacingOptions) => SlotPacer;
}
