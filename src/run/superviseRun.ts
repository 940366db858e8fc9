import type { Job } from '../job/types.ts';
import type { Events } from '../observe/events.ts';
import type { Store } from '../store/index.ts';
import { watchJobControl } from './controlSignals.ts';
import { watchFailureAlert } from './failureAlert.ts';

export interface SuperviseOptions {
  job: Job;
  jobId: string;
  store: Store;
  events: Events;
  /** Items in the whole job, for the alert's metrics. */
  total: number;
  /** performance.now() when the run started. */
  started: number;
  stop?: AbortSignal;
  abort?: AbortSignal;
}

/**
 * Everything that can stop a run from outside its tasks: the job's status (pause, cancel, from
 * any process), its deadline and its failure-rate alert. The worker pool obeys the signals it
 * returns; they also fire on the caller's own `stop` and `abort`.
 */
export async function superviseRun(o: SuperviseOptions) {
  const control = await watchJobControl({
    store: o.store,
    jobId: o.jobId,
    jobName: o.job.name,
    events: o.events,
    stop: o.stop ?? new AbortController().signal,
    abort: o.abort ?? new AbortController().signal,
    deadline: o.job.deadline,
    runStartedAt: Date.now() - (performance.now() - o.started),
  });
  // A failure here (the database went away) must not leave the status watch running.
  const stopAlert = await watchFailureAlert({ ...o, control }).catch(async (error: unknown) => {
    await control.close();
    throw error;
  });
  return {
    stop: control.stop,
    abort: control.abort,
    close: async () => {
      await stopAlert();
      await control.close();
    },
  };
}
