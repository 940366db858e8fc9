import { createPacer, sleepUnlessAborted } from '../limit/pacing.ts';
import { createRateLimiter } from '../limit/rateLimiter.ts';
import { ParallelMap } from './mapRun.ts';
import { mapSettings } from './options.ts';
import type { MapFunction, MapInputs, ParallelMapDeps, ParallelMapOptions } from './types.ts';

/**
 * Runs `fn` on every input with at most `maxParallelism` calls at once, and streams an outcome
 * per input as it finishes (or in input order with `ordered: true`):
 *
 * ```ts
 * for await (const r of parallelMap(enrich, userIds, { maxParallelism: 50 })) {
 *   if (r.ok) write(r.value); else retryLater(r.input, r.error);
 * }
 * const all = await parallelMap(enrich, userIds, { maxParallelism: 50 }).toArray();
 * ```
 *
 * Failures are outcomes unless `stopOnError` is set, which throws a `ParallelMapError` with the
 * failed input's `index` and the original error as `cause`. An error thrown by the inputs
 * themselves (an iterator that throws) is rethrown as it is. Inputs are read only as there is room
 * to start them, so a lazy or infinite source is fine, and leaving the loop early aborts in-flight
 * calls through `ctx.signal` and closes the source. Options are checked here, before any work.
 */
export function parallelMap<I, O>(
  fn: MapFunction<I, O>,
  inputs: MapInputs<I>,
  options?: ParallelMapOptions<I>,
  deps: ParallelMapDeps = {},
): ParallelMap<I, O> {
  const settings = mapSettings(fn, inputs, options);
  return new ParallelMap(fn, inputs, settings, {
    sleep: deps.sleep ?? sleepUnlessAborted,
    random: deps.random ?? Math.random,
    createRateLimiter: deps.createRateLimiter ?? createRateLimiter,
    createPacer: deps.createPacer ?? createPacer,
  });
}
