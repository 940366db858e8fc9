/** Exit codes of the CLI; documented in the README. */
export const exitCodes = {
  /** Every task and every item is done. */
  ok: 0,
  /** sluice itself failed: a bug, or the database went away mid-run. */
  internal: 1,
  /** Bad input: an option, file, table, column, or an unreachable database. Nothing was changed. */
  badInput: 2,
  /**
   * The job finished with status `failed`: every task ran to its end, but some tasks, or some
   * items of tasks that are done, failed after all their attempts.
   */
  tasksFailed: 3,
  /** The failure-rate alert paused the job (resumable) or aborted it (failed). */
  alert: 4,
  /** The job was cancelled (`sluice cancel`); the reports of finished tasks are kept. */
  cancelled: 5,
  /** The job is paused (`sluice pause`); `sluice resume <job>`, then run again. */
  paused: 6,
  /** The job passed its deadline: running tasks were aborted and the job failed. */
  deadline: 7,
  /** Stopped by Ctrl-C (SIGINT) or SIGTERM; the job stays resumable. */
  interrupted: 130,
} as const;
