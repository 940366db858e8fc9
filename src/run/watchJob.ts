import { setTimeout as sleep } from 'node:timers/promises';
import { Events } from '../observe/events.ts';
import type { RunStatus, RunSummary } from '../observe/summary.ts';
import type { JobRow, Store } from '../store/index.ts';
import { summarize, trackProgress } from './runJob.ts';

export interface WatchOptions {
  store: Store;
  events?: Events;
  /** Stops watching; the job itself goes on. */
  stop?: AbortSignal;
  /** How often to look at the job's status. Default 500 ms. */
  pollMs?: number;
}

/**
 * Follows a job that other processes run, to its end, without claiming anything: progress comes
 * from the counts in the store, as it does for `runJob`. Resolves with the same summary `runJob`
 * would give, or `interrupted` when stopped first. Undefined when no job has that name.
 */
export async function watchJob(
  name: string,
  options: WatchOptions,
): Promise<RunSummary | undefined> {
  const { store } = options;
  const events = options.events ?? new Events();
  const started = performance.now();
  let row = await store.findJob(name);
  if (!row) return undefined;
  const job = { name, source: { unit: row.unit } };
  const doneBefore = (await store.counts(row.id)).done.items;
  const alreadyFinished = row.status !== 'running';
  const progress = alreadyFinished
    ? undefined
    : trackProgress(events, store, row, started, doneBefore);
  try {
    while (row.status === 'running' && !options.stop?.aborted) {
      await sleep(options.pollMs ?? 500, undefined, { signal: options.stop }).catch(() => {});
      row = (await store.findJob(name)) as JobRow;
    }
  } finally {
    clearInterval(progress);
  }
  const status: RunStatus = row.status === 'running' ? 'interrupted' : (row.status as RunStatus);
  const summary = await summarize(job, row, status, started, doneBefore, alreadyFinished, store);
  events.emit('job:done', summary);
  return summary;
}
