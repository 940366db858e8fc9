import { toError } from '../errors.ts';
import type { Job } from '../job/types.ts';
import { type AlertMetrics, alertReason, alertTrips } from '../observe/alert.ts';
import type { Events } from '../observe/events.ts';
import type { Store } from '../store/index.ts';
import { warnUnlessGone } from '../store/reconnect.ts';
import { coalesce } from './coalesce.ts';
import type { ControlSignals } from './controlSignals.ts';

export interface FailureAlertOptions {
  job: Job;
  jobId: string;
  store: Store;
  events: Events;
  control: ControlSignals;
  /** Items in the whole job. */
  total: number;
  /** performance.now() when the run started. */
  started: number;
}

// Outcomes can land hundreds of times a second; the counts are read at most this often. The
// count scans the job's tasks: 27 ms for 100,000 tasks (countTasks for progress: 36 ms).
const minGapMs = 250;
// Outcomes of this process are evaluated as they land; the tick is for other processes', which
// those evaluate themselves too, and for tasks reclaimed as failed. An idle process must stay
// cheap (test/store/idleQueries.test.ts): every 2 s.
const tickMs = 2000;

/**
 * Evaluates the job's failure-rate alert from the store's counts, which include every process's
 * work: on a tick, and soon after outcomes land. Tripping is one statement that only one process
 * wins, so `onAlert` and the action run once per trip; pause and abort then reach every process
 * through the job's status. Returns a function that stops watching.
 */
export async function watchFailureAlert(o: FailureAlertOptions): Promise<() => Promise<void>> {
  const alert = o.job.alert;
  if (!alert) return async () => {};
  let finished = false;
  // Read before any task of this run finishes, so the rate in the metrics is this run's.
  const processedAtStart = (await o.store.alertCounts(o.jobId)).processed;

  const evaluate = async () => {
    const counts = await o.store.alertCounts(o.jobId);
    if (counts.tripped) {
      finished = true;
      return;
    }
    if (!alertTrips(counts, alert)) return;
    const reason = alertReason(counts, alert);
    const won = await o.store.tripAlert(o.jobId, alert.action, reason);
    finished = true;
    if (!won) return;
    const elapsedMs = performance.now() - o.started;
    const metrics: AlertMetrics = {
      processed: counts.processed,
      failed: counts.failed,
      total: o.total,
      failureRate: counts.failed / counts.processed,
      elapsedMs,
      itemsPerSec:
        elapsedMs > 0 ? (Math.max(0, counts.processed - processedAtStart) * 1000) / elapsedMs : 0,
      action: alert.action,
      reason,
    };
    o.events.emit('job:alert', metrics);
    try {
      await o.job.onAlert?.(metrics);
    } catch (error) {
      process.emitWarning(`sluice: onAlert threw: ${toError(error).message}`);
    }
    await o.control.check();
  };

  const evaluateOrWarn = () =>
    evaluate().catch((error) => warnUnlessGone('the failure alert failed', error));
  const evaluations = coalesce(evaluateOrWarn, { gapMs: minGapMs, stopped: () => finished });
  const request = () => void evaluations.run();

  const timer = setInterval(request, tickMs);
  timer.unref();
  const stops = [o.events.on('task:done', request), o.events.on('task:failed', request)];
  request();
  return async () => {
    clearInterval(timer);
    for (const stop of stops) stop();
    await evaluations.settled();
    // A short run can end between two reads. A warning is still owed; pausing or aborting a run
    // with nothing left to run is not.
    if (!finished && alert.action === 'warn') await evaluateOrWarn();
    finished = true;
  };
}
