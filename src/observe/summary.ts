export type RunStatus = 'done' | 'failed' | 'interrupted' | 'paused' | 'cancelled' | 'planned';
// `planned`: `sluice run --detach` planned the job and ran nothing.

/** The outcome of one `sluice run`, as printed at the end and returned by `runJob`. */
export interface RunSummary {
  job: string;
  /**
   * `done`: every task and item succeeded (exit 0). `failed` with no `stoppedBy`: the job ran to
   * its end, but some tasks, or some items of tasks that are done, failed after all their
   * attempts (exit 3; their dead letters say which). `failed` with `stoppedBy`: the failure-rate
   * alert or the deadline aborted it (exit 4, 7).
   */
  status: RunStatus;
  /** Why the job is paused, cancelled, or failed by its alert or deadline. */
  reason?: string;
  /** Who stopped it: `sluice pause`/`cancel` (user), the failure-rate alert, or the deadline. */
  stoppedBy?: 'user' | 'alert' | 'deadline';
  /** Items (rows, for table ranges) in the whole job. */
  total: number;
  done: number;
  failed: number;
  tasks: { total: number; done: number; failed: number };
  unit: string;
  /**
   * This run's wall time; the rate counts items finished during it, by every process. For a job
   * found already finished, those of the run that finished it: planned to finished, as stored.
   */
  elapsedMs: number;
  itemsPerSec: number;
  /** True when nothing was run: the job had already finished, or it is paused. */
  alreadyFinished: boolean;
  /** The reduction; for a cancelled job, that of the tasks that finished before it stopped. */
  result: unknown;
}

const heads: Record<RunStatus, string> = {
  done: 'Batch complete',
  failed: 'Batch complete',
  interrupted: 'Batch interrupted',
  paused: 'Batch paused',
  cancelled: 'Batch cancelled',
  planned: 'Batch planned',
};

/**
 * The seed's log line: `Batch complete: P/T items, F failed (x.x%), E.Es, R items/sec`. The
 * failure rate is of the items processed, as the live progress and the alert count it: a run
 * stopped early would otherwise show a fraction of the rate that stopped it.
 */
export function summaryLine(summary: RunSummary): string {
  const processed = summary.done + summary.failed;
  const percent = processed === 0 ? 0 : (summary.failed / processed) * 100;
  const head =
    summary.stoppedBy && summary.status === 'failed' ? 'Batch aborted' : heads[summary.status];
  const line =
    `${head}: ${summary.done}/${summary.total} items, ${summary.failed} failed (${percent.toFixed(1)}%), ` +
    `${(summary.elapsedMs / 1000).toFixed(1)}s, ${Math.round(summary.itemsPerSec)} items/sec`;
  // Fan-out children carry no items of their own: their failures would not show in the counts.
  const hidden = summary.failed === 0 ? summary.tasks.failed : 0;
  return hidden > 0 ? `${line}; ${hidden} task${hidden === 1 ? '' : 's'} failed` : line;
}
