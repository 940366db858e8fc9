import type { Sql } from 'postgres';
import { toError } from '../errors.ts';
import { ClockOffset, listenPauses, storePause, storeReserve } from '../store/rateLimit.ts';
import { createRateLimiter } from './rateLimiter.ts';
import { epochNow } from './reserve.ts';
import type { RateLimiter, RateLimitOptions } from './types.ts';
import { rateBudget } from './validate.ts';

// Processes release their slots independently, so one released a little late next to one on time
// could put budget + 1 into a window. Slots later than `lateMs` are dropped, and the shared schedule
// runs as if the period were `marginMs` longer, which covers that lateness plus the clock offset
// error (half the quickest round trip, so up to 1 ms: a 2 ms round trip to the database). 12 ms
// covers the timer lateness of a 2-core machine whose cores two CPU hogs keep busy: there, two
// processes sharing 400/s dropped 2-6 % of their slots at 6 ms and none at 12 ms (bench:held-rate).
// Cost: 1.3 % of a per-second rate, 0.02 % of a per-minute one.
const lateMs = 12;
const marginMs = 13;

export interface GlobalRateLimiterOptions {
  /** The job's id in `sluice.jobs`; the schedule is deleted with the job. */
  jobId: string;
  /** Names the schedule within the job, so a job can hold several limits. Default `rate`. */
  name?: string;
  rateLimit: RateLimitOptions;
  now?: () => number;
  /** As in createRateLimiter: told of every release of this process. */
  onRelease?: (atMs: number, cost: number) => void;
  onDrop?: (units: number) => void;
  /** Told of every new pause, seen here or heard from another process: thread and process
   * workers are told at once, so a permit on its way to one is not used during the pause. */
  onPause?: (untilMs: number) => void;
}

/**
 * A rate limiter whose limit holds across every process and machine of a job, coordinated only
 * through PostgreSQL: each process reserves ~50 ms of slots at a time from one shared row.
 *
 * Limits of the design: a cost above 1 is released at its first slot, so across processes a window
 * may hold up to the budget + (largest cost - 1) (within one process the record keeps it exact);
 * `settle` below the estimate gives nothing back, as those slots are already past.
 *
 * A pause (a 429's Retry-After) is written to the shared row and announced with NOTIFY in one
 * statement: every other process holds its releases when the notice arrives (about 1 ms after
 * the commit here), not at its next reservation, and the slots it reserved earlier are not
 * released during the pause.
 */
export function createGlobalRateLimiter(sql: Sql, options: GlobalRateLimiterOptions): RateLimiter {
  const { budget, periodMs } = rateBudget(options.rateLimit);
  const name = options.name ?? 'rate';
  const now = options.now ?? epochNow;
  const ratePerMs = budget / (periodMs + marginMs);
  const offset = new ClockOffset();
  return createRateLimiter(options.rateLimit, {
    now,
    reserve: storeReserve(sql, options.jobId, name, ratePerMs, now, offset),
    pause: storePause(sql, options.jobId, name, now),
    watchPauses: (hold) => {
      const toLocal = (serverMs: number, serverNowMs: number) =>
        offset.toLocal(serverMs, serverNowMs, now());
      const listening = listenPauses(sql, options.jobId, name, toLocal, hold).catch(
        (error: unknown) => {
          // Without the notice a pause still reaches this process at its next reservation.
          process.emitWarning(
            `sluice: cannot LISTEN for rate-limit pauses (${toError(error).message}); ` +
              'a pause reaches this process at its next reservation',
          );
          return undefined;
        },
      );
      return () => void listening.then((unlisten) => unlisten?.()).catch(() => {});
    },
    maxLateMs: lateMs,
    onRelease: options.onRelease,
    onDrop: options.onDrop,
    onHold: options.onPause,
  });
}
