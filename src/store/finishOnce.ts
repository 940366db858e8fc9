import type { Sql } from 'postgres';
import { closable, finishJob } from './jobs.ts';

/**
 * Finishes a job whose tasks are all closed, reducing it exactly once: the first process to lock
 * the still-running job row reduces and finishes it, and every other process that saw the job
 * close finds it finished when the lock comes free and does nothing. Without the lock, each of N
 * workers would read every report to reduce the job, and N - 1 of them would throw theirs away.
 * Returns true for the process that finished it.
 */
export async function finishJobOnce(
  sql: Sql,
  jobId: string,
  reduce: () => Promise<unknown>,
): Promise<boolean> {
  return sql.begin(async (tx) => {
    // Under READ COMMITTED a waiter re-reads the row once the lock is free, and sees it finished.
    const [open] = await tx`
      select 1 from sluice.jobs j where j.id = ${jobId} and ${closable(tx)} for update`;
    if (!open) return false;
    // The reduce reads the reports through the pool, not this transaction: they are committed.
    return finishJob(tx, jobId, await reduce());
  }) as Promise<boolean>;
}
