import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from '../job/types.ts';
import { Events } from '../observe/events.ts';
import type { RunSummary } from '../observe/summary.ts';
import type { Store } from '../store/index.ts';
import { outlastOutages } from './outages.ts';
import { type RunOptions, runJob } from './runJob.ts';

export interface JoinOptions extends Omit<RunOptions, 'join' | 'detach' | 'rerun'> {
  /** How often to look for the job while it is not planned, or finished. Default 1000 ms. */
  waitPollMs?: number;
  /** A job that has already finished counts as found: its summary comes back at once. */
  acceptFinished?: boolean;
}

/**
 * Waits until the job is planned and unfinished, then works on it with every other process on it,
 * to its end. A worker may start before its coordinator, so a job that does not exist yet, or has
 * already finished, is waited for rather than refused. Resolves with the run's summary, or with
 * undefined when `stop` fires while it waits.
 */
export async function joinJob<Input, Report, Result, Resource>(
  job: Job<Input, Report, Result, Resource>,
  options: JoinOptions,
): Promise<RunSummary | undefined> {
  const events = options.events ?? new Events();
  const waited = outlastOutages(() => waitForJob(options.store, job.name, options), {
    ...options,
    events,
  });
  if (!(await waited)) return undefined;
  const { waitPollMs: _, acceptFinished: __, ...run } = options;
  return runJob(job, { ...run, events, join: true });
}

/** Resolves true once the job is unfinished (or exists at all, with `acceptFinished`), false if `stop` fires first. */
async function waitForJob(
  store: Store,
  name: string,
  options: Pick<JoinOptions, 'stop' | 'waitPollMs' | 'acceptFinished' | 'events'>,
): Promise<boolean> {
  const every = options.waitPollMs ?? 1000;
  let said: boolean | undefined;
  for (;;) {
    if (options.stop?.aborted) return false;
    const row = await store.findJob(name);
    if (row && (row.status === 'running' || options.acceptFinished)) return true;
    // Say once why the worker sits idle, and again only if the reason changes.
    const finished = row !== undefined;
    if (said !== finished) options.events?.emit('job:waiting', { job: name, finished });
    said = finished;
    try {
      await sleep(every, undefined, { signal: options.stop });
    } catch {
      return false;
    }
  }
}
