import type { Sql } from 'postgres';
import { storePause, storeReserve } from '../store/rateLimit.ts';
import { createRateLimiter } from './rateLimiter.ts';
import { epochNow } from './reserve.ts';
import type { RateLimiter, RateLimitOptions } from './types.ts';
import { rateBudget } from './validate.ts';

// Processes release their slots independently, so one released a little late next to one on time
// could put budget + 1 into a window. Slots later than `lateMs` are dropped, and the shared schedule
// runs as if the period were `marginMs` longer, which covers that lateness plus the clock offset
// error (half a round trip). Cost: 0.5 % of a per-second rate, 0.008 % of a per-minute one.
const lateMs = 4;
const marginMs = 5;

export interface GlobalRateLimiterOptions {
  /** The job's id in `sluice.jobs`; the schedule is deleted with the job. */
  jobId: string;
  /** Names the schedule within the job, so a job can hold several limits. Default `rate`. */
  name?: string;
  rateLimit: RateLimitOptions;
  now?: () => number;
  /** As in createRateLimiter: told of every release of this process. */
  onRelease?: (atMs: number, cost: number) => void;
}

/**
 * A rate limiter whose limit holds across every process and machine of a job, coordinated only
 * through PostgreSQL: each process reserves ~50 ms of slots at a time from one shared row.
 */
export function createGlobalRateLimiter(sql: Sql, options: GlobalRateLimiterOptions): RateLimiter {
  const { budget, periodMs } = rateBudget(options.rateLimit);
  const name = options.name ?? 'rate';
  const now = options.now ?? epochNow;
  const ratePerMs = budget / (periodMs + marginMs);
  return createRateLimiter(options.rateLimit, {
    now,
    reserve: storeReserve(sql, options.jobId, name, ratePerMs, now),
    pause: storePause(sql, options.jobId, name, now),
    maxLateMs: lateMs,
    onRelease: options.onRelease,
  });
}
