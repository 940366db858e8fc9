import type { Job } from '../job/types.ts';
import { createAdaptiveCap } from '../limit/adaptive.ts';
import { createGlobalRateLimiter } from '../limit/globalRateLimiter.ts';
import { createPacer } from '../limit/pacing.ts';
import type { RateLimiter } from '../limit/types.ts';
import { itemCosts } from '../limit/validate.ts';
import type { Events } from '../observe/events.ts';
import type { Store } from '../store/index.ts';
import { type JobLimits, pauseOnlyLimits } from './jobLimits.ts';

/**
 * Builds the limits a job declares, shared by every worker of this process. The rate limit is
 * global: its schedule lives in the state store, so it holds across every process of the job.
 */
export function createJobLimits(job: Job, store: Store, jobId: string, events: Events): JobLimits {
  const { rateLimit, pacing } = job;
  const gate = pauseOnlyLimits();
  const pauseListeners = new Set<(untilMs: number) => void>();
  const onPause = (untilMs: number) => {
    for (const listener of pauseListeners) listener(untilMs);
  };
  const limiter = rateLimit
    ? timingWaits(createGlobalRateLimiter(store.sql, { jobId, rateLimit, onPause }), events)
    : undefined;
  const adaptive =
    job.adaptiveStart === undefined
      ? undefined
      : createAdaptiveCap(
          { start: job.adaptiveStart, max: job.maxParallelism },
          { onChange: (cap, reason) => events.emit('limit:cap', { cap, reason }) },
        );
  return {
    limiter,
    adaptive,
    pacerFor: () => (pacing ? createPacer(pacing) : undefined),
    cost: itemCosts(rateLimit),
    pauseAll: (untilMs) => (limiter ? limiter.pauseUntil(untilMs) : gate.pauseAll(untilMs)),
    watchPauses(listener) {
      pauseListeners.add(listener);
      return () => pauseListeners.delete(listener);
    },
    acquire: (cost, signal) =>
      limiter ? limiter.acquire(cost, signal) : gate.acquire(cost, signal),
    pausedUntil: limiter ? undefined : () => gate.pausedUntil(),
    close: () => limiter?.close(),
  };
}

/**
 * Reports how long each permit took (`limit:waited`, the rate-limit wait histogram). Every permit
 * of the job passes here: its own items', `ctx.limit.acquire`, and those thread and process
 * workers ask the coordinator for.
 */
function timingWaits(limiter: RateLimiter, events: Events): RateLimiter {
  return {
    pauseUntil: (untilMs) => limiter.pauseUntil(untilMs),
    close: () => limiter.close(),
    async acquire(cost = 1, signal) {
      const started = performance.now();
      const permit = await limiter.acquire(cost, signal);
      events.emit('limit:waited', { ms: performance.now() - started, cost });
      return permit;
    },
  };
}

/**
 * Checks the cost of every item while the plan streams in, so a cost function that returns NaN
 * or a negative number is refused before the plan commits, not half-way through the run.
 */
export async function* withCostChecks<T extends { payload: unknown }>(
  job: Job,
  plan: AsyncIterable<T>,
): AsyncGenerator<T> {
  const cost = job.rateLimit?.cost ? itemCosts(job.rateLimit) : undefined;
  for await (const task of plan) {
    if (cost && Array.isArray(task.payload)) for (const item of task.payload) cost(item);
    yield task;
  }
}
