export type RunStatus = 'done' | 'failed' | 'interrupted';

/** The outcome of one `sluice run`, as printed at the end and returned by `runJob`. */
export interface RunSummary {
  job: string;
  status: RunStatus;
  /** Items (rows, for table ranges) in the whole job. */
  total: number;
  done: number;
  failed: number;
  tasks: { total: number; done: number; failed: number };
  unit: string;
  /** This run's wall time; the rate counts items finished during it, by every process. */
  elapsedMs: number;
  itemsPerSec: number;
  /** True when the job had already finished before this run and nothing was run. */
  alreadyFinished: boolean;
  result: unknown;
}

/** The seed's log line: `Batch complete: P/T items, F failed (x.x%), E.Es, R items/sec`. */
export function summaryLine(summary: RunSummary): string {
  const percent = summary.total === 0 ? 0 : (summary.failed / summary.total) * 100;
  const head = summary.status === 'interrupted' ? 'Batch interrupted' : 'Batch complete';
  return (
    `${head}: ${summary.done}/${summary.total} items, ${summary.failed} failed (${percent.toFixed(1)}%), ` +
    `${(summary.elapsedMs / 1000).toFixed(1)}s, ${Math.round(summary.itemsPerSec)} items/sec`
  );
}
