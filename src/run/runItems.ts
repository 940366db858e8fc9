import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimitedError, SluiceError, toError } from '../errors.ts';
import { failed, type Outcome, succeeded } from '../job/outcome.ts';
import type { Job, TaskContext } from '../job/types.ts';
import type { Pacer } from '../limit/pacing.ts';
import { underSavepoint } from '../store/index.ts';
import { backoffMs, canRetry } from './backoff.ts';
import { type JobLimits, permitHandle } from './jobLimits.ts';

/** What paces and limits the items of one worker: the job's limits plus this worker's pacer. */
export type ItemLimits = Pick<
  JobLimits,
  'limiter' | 'acquire' | 'cost' | 'pauseAll' | 'adaptive' | 'pausedUntil'
> & {
  pacer?: Pacer;
};

/**
 * Runs a job's `each` over the items of a chunk, one at a time on this worker: paced, under the
 * rate limit, and with retries per item. A throttled item (RateLimitedError: a 429 or 503) pauses
 * every worker for its Retry-After and is tried again; other errors back off by the job's policy.
 * An item that runs out of attempts, or cannot succeed on a retry (PermanentError, `retryIf`
 * false), becomes a failed outcome with its status, stack and attempts (a dead letter once
 * recorded), and the chunk goes on.
 */
export async function runItems(
  job: Job,
  items: unknown[],
  ctx: TaskContext,
  limits: ItemLimits,
  options: RunItemsOptions = {},
): Promise<Outcome[]> {
  const { onItems, inTransaction = false, stop } = options;
  const each = job.each as (item: unknown, ctx: TaskContext) => unknown;
  const tryItem = inTransaction
    ? (item: unknown, c: TaskContext) => underSavepoint(c.sql, async () => each(item, c))
    : each;
  // A sequential job checkpoints after every item, so a crash resumes at the next item, not at the
  // chunk's start. That is a write per item: worth it only at a cap of 1, for small datasets. In a
  // transaction it would commit with the chunk anyway, so a crash restarts the chunk, as it must.
  const perItem = job.maxParallelism === 1 && !inTransaction;
  // A chunk paused between items (below) or checkpointed per item resumes at its next item.
  const outcomes: Outcome[] = inTransaction ? [] : resumedOutcomes(ctx.resumeFrom, items.length);
  let done = 0;
  let failedItems = 0;
  for (const item of items.slice(outcomes.length)) {
    // A paused job starts no more items: the chunk saves how far it got and goes back to the
    // queue, its attempt unspent. In a transaction the chunk's writes roll back instead.
    if (stop?.aborted) {
      if (!inTransaction) {
        await ctx.checkpoint({ next: outcomes.length, outcomes } satisfies ItemCheckpoint);
      }
      throw new ChunkPausedError(`Paused after ${outcomes.length} of ${items.length} items`);
    }
    for (let attempt = 1; ; attempt++) {
      // Without a rate limiter nothing else holds a throttled retry back: wait out the pause here,
      // before the pacer, so the pacer times the request itself. Nothing to wait for (no pause, no
      // pacer, no limiter, a synchronous `each`) means no await: each one is an async hop, and
      // hops were most of a no-op item's cost (20,000 items in 9.5 ms, now 3 ms).
      if (!limits.limiter) {
        if (limits.pausedUntil && limits.pausedUntil() <= Date.now()) ctx.signal.throwIfAborted();
        else await limits.acquire(0, ctx.signal);
      }
      if (limits.pacer) await limits.pacer.wait(ctx.signal);
      const permit = limits.limiter
        ? await limits.limiter.acquire(limits.cost(item), ctx.signal)
        : undefined;
      const started = performance.now();
      try {
        const returned = tryItem(item, {
          ...ctx,
          attempt,
          limit: permitHandle(limits, ctx.signal, permit),
        });
        const value = isThenable(returned) ? await returned : returned;
        limits.adaptive?.record({ ok: true, latencyMs: performance.now() - started });
        outcomes.push(succeeded(item, value));
        done++;
        break;
      } catch (thrown) {
        if (ctx.signal.aborted) throw thrown;
        const error = toError(thrown);
        const throttled = error instanceof RateLimitedError;
        limits.adaptive?.record({ ok: false, latencyMs: performance.now() - started, throttled });
        if (throttled) limits.pauseAll(Date.now() + error.retryAfterMs);
        if (attempt >= job.retry.attempts || !canRetry(error, item, job.retry)) {
          outcomes.push(failed(item, error, statusOf(error), attempt));
          failedItems++;
          break;
        }
        // A throttled retry waits at the limiter's pause; anything else backs off on its own.
        if (!throttled)
          await sleep(backoffMs(attempt, job.retry), undefined, { signal: ctx.signal });
      }
    }
    onItems?.(done, failedItems);
    if (perItem) await ctx.checkpoint({ next: outcomes.length, outcomes } satisfies ItemCheckpoint);
  }
  return outcomes;
}

export interface RunItemsOptions {
  /** Told after each item this attempt finishes, with the counts so far (progress). */
  onItems?: (done: number, failed: number) => void;
  /**
   * The chunk runs in one transaction (a `transactional` job): each try of an item runs under a
   * savepoint, so a failed try rolls back its own writes and the chunk goes on.
   */
  inTransaction?: boolean;
  /** Fires when the job is paused or stopped: no item starts after it. */
  stop?: AbortSignal;
}

/** A chunk stopped between items by a pause; the caller gives the task back untouched. */
export class ChunkPausedError extends SluiceError {
  override name = 'ChunkPausedError';
}

/** Where a sequential chunk stopped: the next item to run and the outcomes of those before it. */
interface ItemCheckpoint {
  next: number;
  outcomes: Outcome[];
}

/** The outcomes a checkpoint of this chunk holds; none when it is absent or not ours. */
function resumedOutcomes(resumeFrom: unknown, items: number): Outcome[] {
  const saved = resumeFrom as Partial<ItemCheckpoint> | null | undefined;
  const valid =
    typeof saved === 'object' &&
    saved !== null &&
    Array.isArray(saved.outcomes) &&
    saved.next === saved.outcomes.length &&
    saved.next <= items;
  return valid ? [...(saved.outcomes as Outcome[])] : [];
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function statusOf(error: Error): number | undefined {
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}
