import { InputError } from '../errors.ts';
import type { Job } from '../job/types.ts';
import { Events } from '../observe/events.ts';
import type { RunStatus, RunSummary } from '../observe/summary.ts';
import { openPool } from '../store/connect.ts';
import type { JobRow, Store } from '../store/index.ts';
import { createJobLimits, withCostChecks } from './createJobLimits.ts';
import { reduceReports } from './reduce.ts';
import { WorkerPool } from './workerPool.ts';

export interface RunOptions {
  /** The source database: planning and every worker's `ctx.sql` connect here. */
  sourceUrl: string;
  /** The state store (schema `sluice`), opened with `Store.open`. */
  store: Store;
  events?: Events;
  /** Plan the job afresh even if it exists (finished or not). Default false. */
  rerun?: boolean;
  /** Local workers in this process. Default: the job's `maxParallelism`. */
  concurrency?: number;
  /** Override of the job's `maxParallelism`, the cap across all processes. */
  maxParallelism?: number;
  /** Stops claiming; running tasks finish and the job stays resumable. */
  stop?: AbortSignal;
  /** Aborts running tasks and releases their claims. */
  abort?: AbortSignal;
  /** How often an idle process looks for work freed elsewhere. Default 200 ms. */
  pollMs?: number;
}

/**
 * Runs a job to the end: plans it, or resumes it when a job of that name is unfinished, runs its
 * tasks under the global cap together with any other process on the same job, and reduces the
 * reports in plan order.
 */
export async function runJob<Input, Report, Result, Resource>(
  typedJob: Job<Input, Report, Result, Resource>,
  options: RunOptions,
): Promise<RunSummary> {
  // Past this point only the store sees inputs and reports, so their types no longer matter.
  const job = typedJob as unknown as Job;
  const { store } = options;
  const events = options.events ?? new Events();
  const cap = options.maxParallelism ?? job.maxParallelism;
  const concurrency = Math.min(options.concurrency ?? cap, cap);
  const started = performance.now();
  // Exactly one connection per worker: the cap is the job's connection budget. Planning borrows
  // one before the workers start.
  const source = openPool(options.sourceUrl, {
    max: concurrency,
    purpose: `worker:${job.name}`,
  });
  try {
    await job.prepare?.({ sql: source });
    const existing = await store.findJob(job.name);
    if (existing && existing.status !== 'running' && !options.rerun) {
      return summarize(job, existing, existing.status, started, 0, true, store);
    }
    if (existing && !options.rerun && existing.fingerprint !== job.source.fingerprint) {
      throw new InputError(
        `Job \`${job.name}\` was planned with other source options (${existing.source}); run with --rerun to plan it again`,
      );
    }
    const { job: row, created } = await store.findOrCreateJob(
      {
        name: job.name,
        source: job.source.describe,
        fingerprint: job.source.fingerprint,
        maxParallelism: cap,
        maxAttempts: job.retry.attempts,
      },
      () => withCostChecks(job, job.source.plan({ sql: source })),
      options.rerun ?? false,
    );
    if (!created) await store.updateJobLimits(row.id, cap, job.retry.attempts);
    events.emit('job:planned', {
      job: job.name,
      created,
      tasks: row.totalTasks,
      items: row.totalItems,
      unit: job.source.unit,
    });
    await store.join();
    const doneBefore = (await store.counts(row.id)).done.items;
    const progress = trackProgress(events, store, row, started, doneBefore);
    const limits = createJobLimits(job, store, row.id, events);
    if (limits.adaptive)
      events.emit('limit:cap', { cap: limits.adaptive.current(), reason: 'start' });
    const pool = new WorkerPool({
      job,
      jobId: row.id,
      store,
      events,
      source,
      concurrency,
      stop: options.stop ?? new AbortController().signal,
      abort: options.abort ?? new AbortController().signal,
      pollMs: options.pollMs ?? 200,
      limits,
      cancelBackends: (pids) => cancelBackends(options.sourceUrl, pids),
    });
    const closed = await pool.run().finally(() => {
      clearInterval(progress);
      limits.close();
    });
    if (closed) {
      const result = await reduceReports(job, store, row.id);
      await store.finishJob(row.id, result);
    }
    const final = (await store.findJob(job.name)) as JobRow;
    const status: RunStatus = final.status === 'running' ? 'interrupted' : final.status;
    const summary = await summarize(job, final, status, started, doneBefore, false, store);
    events.emit('job:done', summary);
    return summary;
  } finally {
    await source.end({ timeout: 5 });
  }
}

/** Publishes the job's progress, counted in the store so other processes' work shows too. */
function trackProgress(
  events: Events,
  store: Store,
  row: JobRow,
  started: number,
  doneBefore: number,
) {
  const publish = async () => {
    const counts = await store.counts(row.id);
    events.emit('job:progress', {
      totalTasks: row.totalTasks,
      totalItems: row.totalItems,
      doneTasks: counts.done.tasks,
      doneItems: counts.done.items,
      failedTasks: counts.failed.tasks,
      failedItems: counts.failed.items,
      runningTasks: counts.running.tasks,
      itemsThisRun: counts.done.items - doneBefore,
      elapsedMs: performance.now() - started,
    });
  };
  void publish().catch(() => {});
  const timer = setInterval(() => void publish().catch(() => {}), 500);
  timer.unref();
  return timer;
}

async function summarize(
  job: Job,
  row: JobRow,
  status: RunStatus,
  started: number,
  doneBefore: number,
  alreadyFinished: boolean,
  store: Store,
): Promise<RunSummary> {
  const counts = await store.counts(row.id);
  const elapsedMs = performance.now() - started;
  const ranItems = alreadyFinished ? 0 : counts.done.items - doneBefore;
  return {
    job: job.name,
    status,
    total: row.totalItems,
    done: counts.done.items,
    failed: counts.failed.items,
    tasks: { total: row.totalTasks, done: counts.done.tasks, failed: counts.failed.tasks },
    unit: job.source.unit,
    elapsedMs,
    itemsPerSec: elapsedMs > 0 ? (ranItems * 1000) / elapsedMs : 0,
    alreadyFinished,
    result: status === 'interrupted' ? undefined : row.result,
  };
}

/** A second Ctrl-C cancels running queries; every pooled connection is busy, so it dials anew. */
async function cancelBackends(url: string, pids: number[]): Promise<void> {
  const sql = openPool(url, { max: 1, purpose: 'cancel' });
  try {
    await sql`select pg_cancel_backend(pid) from unnest(${pids}::int[]) as pid`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}
