import { RateLimitedError, SluiceError, toError } from '../errors.ts';
import { checkOutcomes, type Outcome } from '../job/outcome.ts';
import type { Job, TaskContext } from '../job/types.ts';
import type { Events } from '../observe/events.ts';
import { startAttemptSpan } from '../observe/trace.ts';
import {
  type Claim,
  type ClaimedTask,
  inTaskTransaction,
  type Store,
  type TaskWrites,
} from '../store/index.ts';
import { isDatabaseGone } from '../store/reconnect.ts';
import { redactError, redactSecrets } from '../store/redact.ts';
import { abortable } from './abortable.ts';
import { backoffMs, canRetry } from './backoff.ts';
import type { CompletionBatch } from './completionBatch.ts';
import type { Executor, HostContext, TaskCall } from './executors/types.ts';
import { type JobLimits, permitHandle } from './jobLimits.ts';
import { keyedPartials } from './mapReduce.ts';
import { reserveWorker } from './reserveWorker.ts';
import { ChunkPausedError, runItems } from './runItems.ts';
import { graphStep, runGraphPlace } from './taskGraph.ts';
import { attemptSignal } from './taskTimeout.ts';
import type { WorkerSlot } from './workerSlot.ts';

export interface TaskRunner {
  job: Job;
  jobId: string;
  store: Store;
  events: Events;
  abort: AbortSignal;
  limits: JobLimits;
  /** Cancels the running queries of these backends: a timed-out attempt's query. */
  cancelBackends(pids: number[]): Promise<void>;
  /** Thread or process workers that run the job's function; absent, it runs in this process. */
  executor?: Executor;
  /** Stop claiming: a task claimed ahead that has not reached a worker goes back untouched. */
  stop: AbortSignal;
  /** Records chunks whose items all succeeded together with other tasks' (not transactional). */
  completions?: CompletionBatch;
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
  const { job, store, events } = r;
  const claim: Claim = { jobId: r.jobId, seq: task.seq, epoch: task.epoch };
  // A pipeline stage or fan-out task: its place in the graph decides what runs and what it creates.
  const graph = graphStep(r, task, claim);
  // A task claimed ahead waits for room on a thread or process worker before its attempt starts
  // (and its timeout with it); stopped first, it goes back to the queue untouched.
  const executor = r.executor;
  const { room, unmarked } = executor
    ? await reserveWorker(store, claim, executor, [r.stop, r.abort])
    : { room: undefined, unmarked: Promise.resolve() };
  // Stopped (Ctrl-C, a pause) while this claim was on its way: it goes back untouched too.
  if ((executor && !room) || (!executor && r.stop.aborted)) {
    await unmarked;
    await store.release(claim);
    events.emit('task:released', { seq: task.seq });
    return;
  }
  // One span per attempt, made here so that every executor's attempts have one.
  const span = await startAttemptSpan({
    job: job.name,
    seq: task.seq,
    attempt: task.attempts,
    items: task.items,
  });
  // The run's abort signal, or this attempt's timeout; a timed-out query is cancelled on the server.
  const attempt = attemptSignal(r.abort, job.timeout, task.seq, () =>
    worker.pid === undefined ? undefined : r.cancelBackends([worker.pid]),
  );
  const abort = attempt.signal;
  const started = performance.now();
  // A source that reads its input (a cursor chunk's rows) does so on the worker's connection, below.
  let input: unknown = job.source.load || graph ? undefined : job.source.input(task.payload);
  events.emit('task:claimed', { seq: task.seq, attempt: task.attempts });
  // Items are counted as `each` finishes them, so a long chunk's progress shows while it runs.
  const onItems = (done: number, failed: number) =>
    events.emit('task:items', { seq: task.seq, done, failed });
  try {
    const host = context({ ...r, abort }, task, claim);
    let report: unknown;
    // How the task was recorded: inside its transaction, or (undefined) through the store below.
    let settled: Settled | undefined;
    if (executor && room) {
      // A thread or process worker runs the job's function; checkpoints, logs and permits come
      // back here as messages.
      const call: TaskCall = {
        ...{ payload: task.payload, input, ctx: host, limits: r.limits },
        maxParallelism: job.maxParallelism,
        graph: graph?.place(),
        onItems,
        stop: r.stop,
      };
      report = await abortable(executor.run(call, room), abort).finally(() => {
        input = call.input;
      });
    } else {
      const { sql, resource } = await abortable(worker.open(), abort);
      // A graph task reads its input by its place (runGraphPlace), not as a chunk of the source.
      if (job.source.load && !graph) {
        input = await abortable(job.source.load(task.payload, { sql }), abort);
      }
      const ctx: TaskContext = { ...host, sql, resource };
      const limits = { ...r.limits, pacer: worker.pacer };
      const runHere = (c: TaskContext, inTransaction = false) =>
        span.within(async () =>
          job.each
            ? runItems(job, input as unknown[], c, limits, { onItems, inTransaction, stop: r.stop })
            : graph
              ? runGraphPlace(job, await graph.place(), task.payload, c)
              : (job.run as NonNullable<Job['run']>)(input, c),
        );
      if (job.transactional) {
        // A timeout waits for the code to return, as the worker's connection holds the transaction
        // until then (its query is cancelled); the run's abort does not, as the connection closes
        // with the run. An attempt past either commits nothing.
        const inTransaction = inTaskTransaction(sql, claim, async (writes, fenced) => {
          const checkpoint = async (cursor: unknown) => {
            if (!(await writes.checkpoint(fenced, cursor))) throw staleAttempt(task.seq);
          };
          const report = await runHere({ ...ctx, checkpoint }, true);
          abort.throwIfAborted();
          settled = await finish(r, task, writes, fenced, report);
          return settled.accepted;
        });
        await abortable(inTransaction, r.abort);
      } else {
        report = await abortable(runHere(ctx), abort);
      }
    }
    await unmarked;
    // A whole task is one signal for the adaptive cap; `each` reports item by item.
    if (!job.each) r.limits.adaptive?.record({ ok: true, latencyMs: performance.now() - started });
    settled ??= graph
      ? { accepted: await graph.complete(report), items: task.items }
      : await finish(r, task, store, claim, report);
    const { accepted, items, outcomes } = settled;
    if (accepted && outcomes) events.emit('task:outcomes', { seq: task.seq, outcomes });
    span.end(accepted ? 'done' : 'stale', {
      itemsFailed: outcomes?.filter((outcome) => !outcome.ok).length,
    });
    events.emit('task:done', { seq: task.seq, items, ms: performance.now() - started, accepted });
  } catch (thrown) {
    // The run failed because the database went away: nothing can be written now. The claim goes
    // back to the queue with this process's session (reclaimOrphans).
    if (abort.aborted && isDatabaseGone(r.abort.reason)) {
      span.end('unrecorded', { error: toError(r.abort.reason) });
      return;
    }
    await unmarked;
    // Paused between items (here or in a thread or process worker): back untouched, to resume.
    const paused = (thrown as Error | undefined)?.name === ChunkPausedError.name;
    if (paused || (abort.aborted && !attempt.timedOut)) {
      await store.release(claim);
      span.end('released');
      events.emit('task:released', { seq: task.seq });
      return;
    }
    const error = redactError(toError(thrown));
    if (!job.each) {
      const throttled = error instanceof RateLimitedError;
      if (throttled) r.limits.pauseAll(Date.now() + error.retryAfterMs);
      r.limits.adaptive?.record({ ok: false, latencyMs: performance.now() - started, throttled });
    }
    const retry = task.attempts < job.retry.attempts && canRetry(error, input, job.retry);
    if (retry) {
      const delayMs = backoffMs(task.attempts, job.retry);
      await store.fail(claim, error, delayMs);
      span.end('retrying', { error });
      events.emit('task:retrying', { seq: task.seq, attempt: task.attempts, error, delayMs });
      return;
    }
    if (job.source.outcomes && !graph) {
      // Every item of a chunk that threw failed with it; the manifest lists each one, and each is
      // a dead letter with the task's attempts.
      const outcomes: Outcome[] = ((input ?? []) as unknown[]).map((item) => ({
        item,
        ok: false,
        error: error.message,
        stack: error.stack,
        attempts: task.attempts,
      }));
      const keys = outcomes.map((o) => job.itemKey(o.item));
      if (await store.recordChunk(claim, task.attempts, outcomes, error, keys)) {
        events.emit('task:outcomes', { seq: task.seq, outcomes });
      }
    } else {
      await store.fail(claim, error, undefined);
    }
    span.end('failed', { error });
    events.emit('task:failed', { seq: task.seq, attempt: task.attempts, error });
  } finally {
    // Recording the outcome threw (the database went away, say): the attempt ended all the same.
    span.end('unrecorded');
    await attempt.dispose();
  }
}

/** How a finished attempt was recorded: accepted unless its claim was stale. */
interface Settled {
  accepted: boolean;
  /** Items done, for progress: a chunk's that succeeded, otherwise the task's. */
  items: number;
  outcomes?: Outcome[];
}

/** Records a finished task: its per-item outcomes, or its report. */
async function finish(
  r: TaskRunner,
  task: ClaimedTask,
  writes: TaskWrites,
  claim: Claim,
  report: unknown,
): Promise<Settled> {
  const { job } = r;
  if (job.source.outcomes && !job.combine) {
    const outcomes = checkOutcomes(report);
    const keys = outcomes.map((o) => job.itemKey(o.item));
    // Through the store (not a task's transaction), a chunk with nothing to dead-letter shares a
    // statement and a commit with the chunks finishing beside it.
    const batch = writes === r.store && outcomes.every((o) => o.ok) ? r.completions : undefined;
    const accepted = batch
      ? await batch.record({ claim, attempt: task.attempts, outcomes, keys })
      : await writes.recordChunk(claim, task.attempts, outcomes, undefined, keys);
    return { accepted, items: outcomes.filter((o) => o.ok).length, outcomes };
  }
  // A map's partials are stored as its report, so a resumed job never runs it again.
  const accepted = await writes.complete(claim, job.combine ? keyedPartials(report) : report);
  return { accepted, items: task.items };
}

const staleAttempt = (seq: number) =>
  new SluiceError(`Task ${seq} was claimed by another worker; this attempt is stale`);

function context(r: TaskRunner, task: ClaimedTask, claim: Claim): HostContext {
  const log = (level: 'info' | 'warn') => (message: string) =>
    r.events.emit('task:log', { seq: task.seq, level, message: redactSecrets(message) });
  return {
    signal: r.abort,
    attempt: task.attempts,
    index: task.seq,
    log: { info: log('info'), warn: log('warn') },
    resumeFrom: task.checkpoint ?? undefined,
    limit: permitHandle(r.limits, r.abort),
    checkpoint: async (cursor) => {
      if (!(await r.store.checkpoint(claim, cursor))) throw staleAttempt(task.seq);
    },
  };
}
