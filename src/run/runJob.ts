import { isDeepStrictEqual } from 'node:util';
import { InputError, SluiceError } from '../errors.ts';
import { checkTransactional } from '../job/defineJob.ts';
import type { Job } from '../job/types.ts';
import { Events, type ProgressSnapshot } from '../observe/events.ts';
import type { RunStatus, RunSummary } from '../observe/summary.ts';
import { checkReachable, openPool } from '../store/connect.ts';
import type { JobCounts, JobRow, Store } from '../store/index.ts';
import { createJobLimits, withCostChecks } from './createJobLimits.ts';
import { createExecutor } from './executors/createExecutor.ts';
import { localSlots } from './executors/options.ts';
import { startFeeder } from './feeder.ts';
import { resumeIfPaused } from './jobControl.ts';
import { presentResult } from './mapReduce.ts';
import { outlastOutages } from './outages.ts';
import { superviseRun } from './superviseRun.ts';
import { reduceFor } from './taskGraph.ts';
import { WorkerPool } from './workerPool.ts';
import { workerConnection } from './workerSlot.ts';

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
  /** Resume the job first if it is paused; otherwise a paused job is reported and not run. */
  resume?: boolean;
  /** Never plan: join the job only if it was planned and is unfinished (`sluice worker`). */
  join?: boolean;
  /** Plan (or find) the job and return at once, running nothing (`sluice run --detach`). */
  detach?: boolean;
  /**
   * How long to wait for the database to come back when it goes away mid-run (a restart, a
   * failover), before giving up with its error. The run then resumes, its interrupted tasks
   * redone. Default 60 s; 0 gives up at once.
   */
  reconnectForMs?: number;
}

/**
 * Runs a job to the end: plans it, or resumes it when a job of that name is unfinished, runs its
 * tasks under the global cap together with any other process on the same job, and reduces the
 * reports in plan order. A database that goes away mid-run is waited for (`reconnectForMs`).
 */
export async function runJob<Input, Report, Result, Resource>(
  typedJob: Job<Input, Report, Result, Resource>,
  options: RunOptions,
): Promise<RunSummary> {
  // Past this point only the store sees inputs and reports, so their types no longer matter.
  const job = typedJob as unknown as Job;
  const events = options.events ?? new Events();
  // A run resumed after an outage is still one run: timed, and its items counted, from here.
  const since: RunStart = { started: performance.now(), attempts: 0 };
  return outlastOutages(() => runOnce(job, { ...options, events }, since), {
    ...options,
    events,
  });
}

/** When the run began, how many items were done before it (known once the job is found), and how often it began. */
interface RunStart {
  started: number;
  doneBefore?: number;
  /** Tries so far: more than one after an outage. */
  attempts: number;
}

async function runOnce(
  job: Job,
  options: RunOptions & { events: Events },
  since: RunStart,
): Promise<RunSummary> {
  const { store, events } = options;
  const cap = options.maxParallelism ?? job.maxParallelism;
  const concurrency = localSlots(job, cap, options.concurrency);
  // `--executor` may have given a transactional job a mode whose writes it cannot share.
  checkTransactional(job);
  // Thread and process workers run the job's function; the mode's bad input is refused here.
  const executor = createExecutor(job, options.sourceUrl, events);
  const { started } = since;
  // Planning has a connection of its own, closed before the workers open theirs (one each): the
  // cap stays the job's connection budget.
  const source = openPool(options.sourceUrl, {
    max: concurrency,
    purpose: `plan:${job.name}`,
  });
  // Registering this process opens its lock session, a connection's handshake like the source's
  // below: both open at once rather than one after the other (~15 ms each on a local server). A run
  // that ends before it claims anything leaves the store joined, as one that ran would.
  const joined = options.detach ? undefined : store.join();
  joined?.catch(() => {});
  try {
    // Read while the source is checked; nothing below before its use changes the job's row.
    const found = store.findJob(job.name);
    found.catch(() => {});
    // A source URL that reaches something other than PostgreSQL would hang planning forever.
    // After an outage the source has just answered (outages.ts): one that fails again now is
    // another outage, not a wrong URL.
    if (since.attempts === 0) await checkReachable(source, options.sourceUrl);
    since.attempts++;
    if (job.transactional && !(await store.sharesDatabase(source))) {
      throw new InputError(
        'Expected `transactional` jobs to write where their state lives: the state database (--state-url or SLUICE_STATE_URL) is not the source database',
      );
    }
    // Thread and process workers load the job module while it prepares; a module that fails to
    // load in them is refused before anything is written.
    const workersReady = executor?.start();
    workersReady?.catch(() => {});
    await job.prepare?.({ sql: source });
    await workersReady;
    const existing = await resumeIfPaused(store, await found, options.resume);
    if (existing && existing.status !== 'running' && !options.rerun) {
      return summarize(job, existing, existing.status, started, 0, true, store);
    }
    if (existing && !options.rerun && existing.fingerprint !== job.source.fingerprint) {
      throw new InputError(
        `Job \`${job.name}\` was planned with other source options (${existing.source}); run with --rerun to plan it again`,
      );
    }
    if (options.join && !existing) {
      throw new SluiceError(`No job named \`${job.name}\` to join; it has not been planned yet`);
    }
    const { job: row, created } =
      options.join && existing
        ? { job: existing, created: false }
        : await store.findOrCreateJob(
            {
              name: job.name,
              source: job.source.describe,
              unit: job.source.unit,
              taskNoun: job.source.taskNoun,
              keyedResult: job.combine !== undefined,
              fingerprint: job.source.fingerprint,
              maxParallelism: cap,
              maxAttempts: job.retry.attempts,
              open: job.source.feed !== undefined,
            },
            () => withCostChecks(job, job.source.plan({ sql: source })),
            options.rerun ?? false,
          );
    // A joining worker keeps the cap the coordinator set (say with --max-parallelism) unless it
    // was given one itself.
    const keepsStoredCap = options.join && options.maxParallelism === undefined;
    if (!created && !keepsStoredCap) {
      await store.updateJobLimits(row.id, cap, job.retry.attempts);
    }
    const workingCap = keepsStoredCap ? row.maxParallelism : cap;
    events.emit('job:planned', {
      job: job.name,
      created,
      tasks: row.totalTasks,
      items: row.totalItems,
      unit: job.source.unit,
    });
    if (options.detach) return summarize(job, row, 'planned', started, 0, false, store);
    await source.end({ timeout: 5 });
    await joined;
    since.doneBefore ??= (await store.counts(row.id)).done.items;
    const { doneBefore } = since;
    const progress = trackProgress(events, store, row, started, doneBefore);
    const limits = createJobLimits(job, store, row.id, events);
    if (limits.adaptive)
      events.emit('limit:cap', { cap: limits.adaptive.current(), reason: 'start' });
    // Nothing this run starts may outlive it: after an outage the run starts again, afresh.
    const ended = new AbortController();
    let supervisor: Awaited<ReturnType<typeof superviseRun>> | undefined;
    let feeder: ReturnType<typeof startFeeder> | undefined;
    let closed = false;
    let pool: WorkerPool | undefined;
    try {
      // Pause, cancel, the deadline and the failure alert reach the pool through these signals.
      supervisor = await superviseRun({
        ...{ job, jobId: row.id, store, events, total: row.totalItems, started },
        ...{ stop: options.stop, abort: options.abort },
      });
      // A streaming source appends batches while the pool runs; its failure stops the run.
      feeder = startFeeder({
        ...{ job, jobId: row.id, store, pollMs: 1000 },
        stop: AbortSignal.any([supervisor.stop, ended.signal]),
        appended: () => pool?.wake(),
      });
      pool = new WorkerPool({
        // At the cap this run works under, which decides whether items are checkpointed one by one.
        job: { ...job, maxParallelism: workingCap },
        jobId: row.id,
        store,
        events,
        // One connection per local worker, its own: the cap is the job's connection budget.
        connectSource: workerConnection(options.sourceUrl, job.name),
        concurrency,
        stop: feeder.stop,
        abort: supervisor.abort,
        pollMs: options.pollMs ?? 200,
        limits,
        cancelBackends: (pids) => cancelBackends(options.sourceUrl, pids),
        executor,
      });
      closed = await pool.run();
      await feeder.done();
    } finally {
      ended.abort();
      clearInterval(progress);
      limits.close();
      await supervisor?.close();
      await feeder?.done().catch(() => {});
    }
    // Only the process that finishes the job reduces it, however many saw it close. The workers'
    // source connections close meanwhile.
    const finishing = closed
      ? store.finishJobOnce(row.id, (reader) => reduceFor(job, reader, row.id))
      : undefined;
    const [finished] = await Promise.allSettled([finishing, pool?.closeWorkers()]);
    if (finished.status === 'rejected') throw finished.reason;
    // The job's row and its counts read at once, not one after the other.
    const [finalRow, counts] = await Promise.all([store.findJob(job.name), store.counts(row.id)]);
    const final = finalRow as JobRow;
    const status: RunStatus = final.status === 'running' ? 'interrupted' : final.status;
    const summary = await summarize(job, final, status, started, doneBefore, false, {
      counts: async () => counts,
    });
    // A cancelled job keeps what its finished tasks reported.
    if (status === 'cancelled') summary.result = await reduceFor(job, store, row.id);
    events.emit('job:done', summary);
    return summary;
  } finally {
    await executor?.close();
    await source.end({ timeout: 5 });
  }
}

/**
 * Publishes the job's progress every 500 ms, counted in the store so other processes' work shows
 * too. While the counts stay the same the store is read less often, down to every 2 s (an idle
 * process must stay cheap: test/store/idleQueries.test.ts); the ticks in between publish the last
 * counts with the time moved on.
 */
export function trackProgress(
  events: Events,
  store: Store,
  row: JobRow,
  started: number,
  doneBefore: number,
) {
  let last: Omit<ProgressSnapshot, 'elapsedMs'> | undefined;
  let lastCounts: JobCounts | undefined;
  let totals: Pick<JobRow, 'totalTasks' | 'totalItems'> = row;
  let unchanged = 0;
  let skip = 0;
  const read = async () => {
    const counts = await store.counts(row.id);
    // Pipelines, fan-outs and streams append tasks as they run: their totals grow. Tasks that
    // are added change the counts too, so unchanged counts mean unchanged totals.
    if (!lastCounts || !isDeepStrictEqual(counts, lastCounts)) {
      totals = (await store.findJob(row.name)) ?? totals;
    }
    lastCounts = counts;
    const seen = {
      totalTasks: totals.totalTasks,
      totalItems: totals.totalItems,
      doneTasks: counts.done.tasks,
      doneItems: counts.done.items,
      failedTasks: counts.failed.tasks,
      failedItems: counts.failed.items,
      runningTasks: counts.running.tasks,
      itemsThisRun: counts.done.items - doneBefore,
    };
    unchanged = last && isDeepStrictEqual(seen, last) ? Math.min(unchanged + 1, 3) : 0;
    skip = unchanged;
    last = seen;
  };
  const publish = async () => {
    if (skip > 0) skip--;
    else await read();
    if (last) events.emit('job:progress', { ...last, elapsedMs: performance.now() - started });
  };
  void publish().catch(() => {});
  const timer = setInterval(() => void publish().catch(() => {}), 500);
  timer.unref();
  return timer;
}

/** The run's summary, read from the store; `job` needs only its name and its source's unit. */
export async function summarize(
  job: { name: string; source: { unit: string } },
  row: JobRow,
  status: RunStatus,
  started: number,
  doneBefore: number,
  alreadyFinished: boolean,
  store: Pick<Store, 'counts'>,
): Promise<RunSummary> {
  const counts = await store.counts(row.id);
  // A job found finished ran nothing now: its summary is the run that finished it, timed as the
  // store recorded it, from planning to finishing.
  const elapsedMs = alreadyFinished ? storedRunMs(row) : performance.now() - started;
  const ranItems = alreadyFinished ? counts.done.items : counts.done.items - doneBefore;
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
    result: status === 'interrupted' ? undefined : presentResult(row),
    reason: row.statusReason ?? undefined,
    stoppedBy: row.stoppedBy ?? undefined,
  };
}

/** A finished job's run, from planning to finishing; 0 for a job that never finished (paused). */
function storedRunMs(row: JobRow): number {
  return row.finishedAt ? Math.max(0, row.finishedAt.getTime() - row.createdAt.getTime()) : 0;
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
