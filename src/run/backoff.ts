import { InputError, PermanentError, RateLimitedError } from '../errors.ts';
import type { RetryOptions, RetryPolicy } from '../job/types.ts';

/** What the delay depends on; `backoff` and `jitter` default to `exponential` and `equal`. */
export type BackoffPolicy = Pick<RetryPolicy, 'baseMs' | 'maxMs'> &
  Pick<RetryOptions, 'backoff' | 'jitter'>;

/**
 * Delay before the next try. `exponential` doubles from `baseMs` on each failure, `fixed` always
 * waits `baseMs`; either is capped at `maxMs`. Jitter spreads out retries of many items that
 * failed together: `equal` keeps half the delay and randomises the other half, `full` picks
 * anywhere from zero to the delay, `none` waits exactly the delay.
 */
export function backoffMs(
  failedAttempt: number,
  retry: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const grown =
    retry.backoff === 'fixed' ? retry.baseMs : retry.baseMs * 2 ** Math.max(0, failedAttempt - 1);
  const ceiling = Math.min(retry.maxMs, grown);
  switch (retry.jitter) {
    case 'none':
      return ceiling;
    case 'full':
      return Math.round(random() * ceiling);
    default:
      return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  }
}

/**
 * Whether another try could succeed. PermanentError and InputError never can; a 429/503
 * (RateLimitedError) always might, since the far side asked us to come back later. Anything
 * else is the job's `retryIf(error, item)` to decide, retried when there is none. A `retryIf`
 * that throws is a bug no retry fixes, so the item is not retried.
 */
export function canRetry(
  error: Error,
  item: unknown,
  retry: Pick<RetryPolicy, 'retryIf'>,
): boolean {
  // sluice's own refusals inside a task (an upsert key with no unique constraint) fail the same
  // way every time.
  if (error instanceof PermanentError || error instanceof InputError) return false;
  if (error instanceof RateLimitedError || retry.retryIf === undefined) return true;
  try {
    return retry.retryIf(error, item) !== false;
  } catch {
    return false;
  }
}
