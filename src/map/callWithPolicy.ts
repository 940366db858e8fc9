import { RateLimitedError, toError } from '../errors.ts';
import { epochNow } from '../limit/reserve.ts';
import type { Permit, RateLimiter } from '../limit/types.ts';
import { checkCost } from '../limit/validate.ts';
import { backoffMs, canRetry } from '../run/backoff.ts';
import type { MapSettings } from './options.ts';
import type { MapContext, MapFunction, MapOutcome, SlotPacer } from './types.ts';

/** How one item is tried: pacing, rate limit and retries. Built once per map. */
export interface CallPolicy<I, O> {
  readonly fn: MapFunction<I, O>;
  readonly settings: MapSettings<I>;
  readonly signal: AbortSignal;
  readonly limiter: RateLimiter | undefined;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random: () => number;
}

/**
 * Tries one input until it succeeds, fails for good, or the map is aborted. Each try waits for its
 * slot's pacer and then for a rate-limit permit, in that order so that a permit is not held while
 * the slot sleeps. Never rejects: every failure becomes a failed outcome.
 */
export async function callWithPolicy<I, O>(
  policy: CallPolicy<I, O>,
  index: number,
  input: I,
  pacer: SlotPacer | undefined,
): Promise<MapOutcome<I, O>> {
  const { fn, settings, signal, limiter } = policy;
  const { retry } = settings;
  let cost = 1;
  try {
    // Once per item, not per try: a cost function that fails will fail again, so it is not retried.
    const estimate = settings.rateLimit?.cost;
    if (estimate !== undefined)
      cost = checkCost('rateLimit.cost', estimate(input), settings.budget);
  } catch (thrown) {
    return { index, input, ok: false, error: toError(thrown) };
  }
  for (let attempt = 1; ; attempt++) {
    let waitMs: number;
    try {
      if (pacer !== undefined) await pacer.wait(signal);
      let permit: Permit | undefined;
      if (limiter !== undefined) permit = await limiter.acquire(cost, signal);
      const ctx: MapContext = { index, attempt, signal, permit };
      const value = await fn(input, ctx);
      return { index, input, ok: true, value };
    } catch (thrown) {
      const throttled = thrown instanceof RateLimitedError;
      // The far side asked everyone to wait, so hold every slot's permits, retrying or not, as
      // a job does: a 429 seen by one call is a 429 for all.
      if (throttled) limiter?.pauseUntil(epochNow() + thrown.retryAfterMs);
      if (attempt >= retry.attempts || !canRetry(toError(thrown), input, retry) || signal.aborted) {
        return { index, input, ok: false, error: toError(thrown) };
      }
      waitMs = backoffMs(attempt, retry, policy.random);
      if (throttled) waitMs = Math.max(waitMs, thrown.retryAfterMs);
    }
    try {
      await policy.sleep(waitMs, signal);
    } catch (thrown) {
      // Only an abort ends a backoff early, and then nobody wants this outcome.
      return { index, input, ok: false, error: toError(thrown) };
    }
  }
}
