import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentError, RateLimitedError, toError } from '../errors.ts';
import { failed, type Outcome, succeeded } from '../job/outcome.ts';
import type { Job, TaskContext } from '../job/types.ts';
import type { Pacer } from '../limit/pacing.ts';
import { backoffMs } from './backoff.ts';
import { type JobLimits, permitHandle } from './jobLimits.ts';

/** What paces and limits the items of one worker. */
/** What paces and limits the items of one worker: the job's limits plus this worker's pacer. */
export type ItemLimits = Pick<
  JobLimits,
  'limiter' | 'acquire' | 'cost' | 'pauseAll' | 'adaptive'
> & {
  pacer?: Pacer;
};

/**
 * Runs a job's `each` over the items of a chunk, one at a time on this worker: paced, under the
 * rate limit, and with retries per item. A throttled item (RateLimitedError: a 429 or 503) pauses
 * every worker for its Retry-After and is tried again; other errors back off exponentially. An
 * item that runs out of attempts, or throws PermanentError, becomes a failed outcome with its
 * status, and the chunk goes on.
 */
export async function runItems(
  job: Job,
  items: unknown[],
  ctx: TaskContext,
  limits: ItemLimits,
): Promise<Outcome[]> {
  const each = job.each as (item: unknown, ctx: TaskContext) => unknown;
  const outcomes: Outcome[] = [];
  for (const item of items) {
    for (let attempt = 1; ; attempt++) {
      await limits.pacer?.wait(ctx.signal);
      const permit = await limits.limiter?.acquire(limits.cost(item), ctx.signal);
      const started = performance.now();
      try {
        const value = await each(item, {
          ...ctx,
          attempt,
          limit: permitHandle(limits, ctx.signal, permit),
        });
        limits.adaptive?.record({ ok: true, latencyMs: performance.now() - started });
        outcomes.push(succeeded(item, value));
        break;
      } catch (thrown) {
        if (ctx.signal.aborted) throw thrown;
        const error = toError(thrown);
        const throttled = error instanceof RateLimitedError;
        limits.adaptive?.record({ ok: false, latencyMs: performance.now() - started, throttled });
        if (throttled) limits.pauseAll(Date.now() + error.retryAfterMs);
        if (error instanceof PermanentError || attempt >= job.retry.attempts) {
          outcomes.push(failed(item, error, throttled ? error.status : statusOf(error)));
          break;
        }
        // A throttled retry waits at the limiter's pause; anything else backs off on its own.
        if (!throttled)
          await sleep(backoffMs(attempt, job.retry), undefined, { signal: ctx.signal });
      }
    }
  }
  return outcomes;
}

function statusOf(error: Error): number | undefined {
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}
