import { PermanentError, RateLimitedError, SluiceError, toError } from '../errors.ts';
import { checkOutcomes, type Outcome } from '../job/outcome.ts';
import type { Job, TaskContext } from '../job/types.ts';
import type { Events } from '../observe/events.ts';
import type { Claim, ClaimedTask, Store } from '../store/index.ts';
import { abortable } from './abortable.ts';
import { backoffMs } from './backoff.ts';
import { type JobLimits, permitHandle } from './jobLimits.ts';
import { runItems } from './runItems.ts';
import type { WorkerSlot } from './workerSlot.ts';

export interface TaskRunner {
  job: Job;
  jobId: string;
  store: Store;
  events: Events;
  abort: AbortSignal;
  limits: JobLimits;
}

/**
 * Runs one claimed task on a worker and records what happened: done (with its report, or its
 * per-item outcomes), back in the queue after a backoff, failed for good, or released untouched
 * when the run is aborted.
 */
export async function executeTask(
  r: TaskRunner,
  worker: WorkerSlot,
  task: ClaimedTask,
): Promise<void> {
  const { job, store, events, abort } = r;
  const claim: Claim = { jobId: r.jobId, seq: task.seq, epoch: task.epoch };
  const started = performance.now();
  const input = job.source.input(task.payload);
  events.emit('task:claimed', { seq: task.seq, attempt: task.attempts });
  try {
    const { sql, resource } = await abortable(worker.open(), abort);
    const ctx = context(r, task, claim, sql, resource);
    const report = job.each
      ? await abortable(
          runItems(job, input as unknown[], ctx, { ...r.limits, pacer: worker.pacer }),
          abort,
        )
      : await abortable((job.run as NonNullable<Job['run']>)(input, ctx), abort).then((value) => {
          // A whole task is one signal for the adaptive cap; `each` reports item by item.
          r.limits.adaptive?.record({ ok: true, latencyMs: performance.now() - started });
          return value;
        });
    let accepted: boolean;
    let items = task.items;
    if (job.source.outcomes) {
      const outcomes = checkOutcomes(report);
      accepted = await store.recordChunk(claim, task.attempts, outcomes);
      items = outcomes.filter((o) => o.ok).length;
      if (accepted) events.emit('task:outcomes', { seq: task.seq, outcomes });
    } else {
      accepted = await store.complete(claim, report);
    }
    events.emit('task:done', { seq: task.seq, items, ms: performance.now() - started, accepted });
  } catch (thrown) {
    if (abort.aborted) {
      await store.release(claim);
      events.emit('task:released', { seq: task.seq });
      return;
    }
    const error = toError(thrown);
    if (!job.each) {
      const throttled = error instanceof RateLimitedError;
      if (throttled) r.limits.pauseAll(Date.now() + error.retryAfterMs);
      r.limits.adaptive?.record({ ok: false, latencyMs: performance.now() - started, throttled });
    }
    const retry = !(error instanceof PermanentError) && task.attempts < job.retry.attempts;
    if (retry) {
      const delayMs = backoffMs(task.attempts, job.retry);
      await store.fail(claim, error, new Date(Date.now() + delayMs));
      events.emit('task:retrying', { seq: task.seq, attempt: task.attempts, error, delayMs });
      return;
    }
    if (job.source.outcomes) {
      // Every item of a chunk that threw failed with it; the manifest lists each one.
      const outcomes: Outcome[] = (input as unknown[]).map((item) => ({
        item,
        ok: false,
        error: error.message,
      }));
      if (await store.recordChunk(claim, task.attempts, outcomes, error)) {
        events.emit('task:outcomes', { seq: task.seq, outcomes });
      }
    } else {
      await store.fail(claim, error, undefined);
    }
    events.emit('task:failed', { seq: task.seq, attempt: task.attempts, error });
  }
}

function context(
  r: TaskRunner,
  task: ClaimedTask,
  claim: Claim,
  sql: TaskContext['sql'],
  resource: unknown,
): TaskContext {
  const log = (level: 'info' | 'warn') => (message: string) =>
    r.events.emit('task:log', { seq: task.seq, level, message });
  return {
    sql,
    resource,
    signal: r.abort,
    attempt: task.attempts,
    index: task.seq,
    log: { info: log('info'), warn: log('warn') },
    resumeFrom: task.checkpoint ?? undefined,
    limit: permitHandle(r.limits, r.abort),
    checkpoint: async (cursor) => {
      if (!(await r.store.checkpoint(claim, cursor))) {
        throw new SluiceError(
          `Task ${task.seq} was claimed by another worker; this attempt is stale`,
        );
      }
    },
  };
}
