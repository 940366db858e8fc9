import { expected, wholeNumber } from '../errors.ts';
import { jobDefaults, validateRetry } from '../job/defineJob.ts';
import type { RetryOptions, RetryPolicy } from '../job/types.ts';
import type { PacingOptions, RateLimitOptions } from '../limit/types.ts';
import { checkPacing, rateBudget } from '../limit/validate.ts';
import { optionNames, refuseUnknownOptions } from '../optionNames.ts';
import type { MapFunction, MapInputs, MapRateLimit, ParallelMapOptions } from './types.ts';

/**
 * Every default in one place. One try by default: an in-memory map has no retry manifest to fall
 * back on, so retrying is the caller's explicit choice.
 */
export const parallelMapDefaults = {
  maxParallelism: 4,
  ordered: false,
  stopOnError: false,
  retry: { ...jobDefaults.retry, attempts: 1 },
} satisfies Required<
  Pick<ParallelMapOptions<unknown>, 'maxParallelism' | 'ordered' | 'stopOnError'>
> & { retry: Omit<RetryPolicy, 'retryIf'> };

const mapPlace = 'parallelMap(fn, inputs, {...})';

const mapOptionNames = optionNames<ParallelMapOptions<unknown>>({
  maxParallelism: true,
  buffer: true,
  ordered: true,
  stopOnError: true,
  retry: true,
  rateLimit: true,
  pacing: true,
  signal: true,
});

/** Validated options with every default filled in. */
export interface MapSettings<I> {
  readonly maxParallelism: number;
  /** Inputs taken but not yet consumed, at most: `maxParallelism + buffer`. */
  readonly window: number;
  readonly ordered: boolean;
  readonly stopOnError: boolean;
  readonly retry: RetryPolicy;
  readonly rateLimit: MapRateLimit<I> | undefined;
  /** The rate's budget per period; no single input may cost more. */
  readonly budget: number;
  readonly pacing: PacingOptions | undefined;
  readonly signal: AbortSignal | undefined;
}

/** Checks everything `parallelMap` is given, before any work starts. Throws InputError naming the bad field. */
export function mapSettings<I, O>(
  fn: MapFunction<I, O>,
  inputs: MapInputs<I>,
  options: ParallelMapOptions<I> | undefined,
): MapSettings<I> {
  if (typeof fn !== 'function') throw expected('fn', 'a function', fn);
  if (!isInputs(inputs)) {
    throw expected('inputs', 'an array, an iterable or an async iterable (not a string)', inputs);
  }
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw expected('options', 'an object', options);
  }
  const o = options ?? {};
  refuseUnknownOptions(o, mapOptionNames, {
    where: mapPlace,
    aliases: { concurrency: 'maxParallelism' },
  });
  const maxParallelism = wholeNumber(
    'maxParallelism',
    o.maxParallelism ?? parallelMapDefaults.maxParallelism,
    1,
  );
  const buffer = wholeNumber('buffer', o.buffer ?? maxParallelism, 0);
  for (const flag of ['ordered', 'stopOnError'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') {
      throw expected(flag, 'true or false', o[flag]);
    }
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw expected('signal', 'an AbortSignal', o.signal);
  }
  return {
    maxParallelism,
    window: maxParallelism + buffer,
    ordered: o.ordered ?? parallelMapDefaults.ordered,
    stopOnError: o.stopOnError ?? parallelMapDefaults.stopOnError,
    retry: validateRetry(o.retry as RetryOptions | undefined, parallelMapDefaults.retry, mapPlace),
    rateLimit: o.rateLimit,
    // The limiter's own checks, so a map and a job reject a bad rate or pace with the same words.
    budget:
      o.rateLimit === undefined
        ? Number.POSITIVE_INFINITY
        : rateBudget(o.rateLimit as RateLimitOptions, mapPlace).budget,
    pacing: o.pacing === undefined ? undefined : checkPacing(o.pacing, mapPlace),
    signal: o.signal,
  };
}

function isInputs(value: unknown): value is MapInputs<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  return Symbol.iterator in value || Symbol.asyncIterator in value;
}
