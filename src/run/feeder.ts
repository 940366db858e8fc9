import { setTimeout as sleep } from 'node:timers/promises';
import type { FeedBatch, Job } from '../job/types.ts';
import type { Store } from '../store/index.ts';

export interface FeederOptions {
  job: Job;
  jobId: string;
  store: Store;
  /** Stops reading the stream; what was appended stays, and the job stays open to resume. */
  stop: AbortSignal;
  /** Called after each append, so local workers claim the batch at once. */
  appended(): void;
  /** How often a process that does not hold the feed looks whether it can take it over. */
  pollMs: number;
}

/**
 * Runs a streaming source (`microBatch`) alongside the worker pool: appends each batch as a task
 * in its own transaction, with the stream position after it, and closes the job's feed when the
 * stream ends. One process of a job feeds at a time; the others work on the tasks and take the
 * feed over, from the stored position, if the feeding process dies.
 */
async function runFeeder(o: FeederOptions): Promise<void> {
  const feed = o.job.source.feed;
  if (!feed) return;
  while (!o.stop.aborted) {
    const state = await o.store.readFeed(o.jobId);
    if (!state.open) return;
    const lock = await o.store.tryFeedLock(o.jobId);
    if (!lock) {
      await sleep(o.pollMs, undefined, { signal: o.stop }).catch(() => {});
      continue;
    }
    try {
      // Read again under the lock: the previous holder may have appended more, or closed the feed.
      const held = await o.store.readFeed(o.jobId);
      if (!held.open) return;
      await appendInOrder(o, feed(held.position, o.stop));
      if (o.stop.aborted) return;
      await o.store.closeFeed(o.jobId);
      o.appended();
      return;
    } finally {
      await lock.release();
    }
  }
}

// Batches waiting for their append while the stream is read on; then reading waits.
const maxQueuedBatches = 4;

/**
 * Appends batches one after another, in stream order, while the stream is read on: a batch's
 * window keeps running while the previous batch is written, so a slow append does not stretch it.
 */
async function appendInOrder(o: FeederOptions, batches: AsyncIterable<FeedBatch>): Promise<void> {
  let failure: { error: unknown } | undefined;
  let queued = 0;
  let tail = Promise.resolve();
  for await (const batch of batches) {
    if (failure) break;
    if (batch.items.length === 0) continue;
    queued += 1;
    tail = tail.then(async () => {
      try {
        if (!failure) await o.store.appendBatch(o.jobId, batch.items, batch.position);
        o.appended();
      } catch (error) {
        failure ??= { error };
      } finally {
        queued -= 1;
      }
    });
    if (queued >= maxQueuedBatches) await tail;
  }
  await tail;
  if (failure) throw failure.error;
}

/**
 * Starts the feeder of a streaming job next to its pool. `stop` is the pool's stop signal: the
 * run's, or the feeder's failure, which stops the run so `done()` can throw the stream's error.
 * For other jobs it does nothing.
 */
export function startFeeder(o: FeederOptions): { stop: AbortSignal; done(): Promise<void> } {
  if (!o.job.source.feed) return { stop: o.stop, done: async () => {} };
  const failed = new AbortController();
  let error: unknown;
  const feeding = runFeeder(o).catch((thrown) => {
    error = thrown;
    failed.abort();
  });
  return {
    stop: AbortSignal.any([o.stop, failed.signal]),
    done: async () => {
      await feeding;
      if (error !== undefined) throw error;
    },
  };
}
