import type { Sql } from 'postgres';
import { closable, finishJob } from './jobs.ts';
import { readReports } from './progress.ts';
import { readGraphReports } from './taskGraph.ts';

/** Where a reduction reads a job's stored reports from, in plan order. */
export interface ReportReader {
  reports(jobId: string): AsyncIterable<{ seq: number; report: unknown }>;
  graphReports(
    jobId: string,
    lastStage: { name: string | null } | undefined,
  ): AsyncIterable<{ seq: number; report: unknown }>;
}

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
  reduce: (reader: ReportReader) => Promise<unknown>,
): Promise<boolean> {
  return sql.begin(async (tx) => {
    // Under READ COMMITTED a waiter re-reads the row once the lock is free, and sees it finished.
    const [open] = await tx`
      select 1 from sluice.jobs j where j.id = ${jobId} and ${closable(tx)} for update`;
    if (!open) return false;
    // The reduce reads the reports through this transaction's own connection: reading them
    // through the pool would need a second connection while this one waits, and a process whose
    // pool is that small (or busy finishing another job) would wait for itself.
    const reader: ReportReader = {
      reports: (id) => readReports(tx, id),
      graphReports: (id, last) => readGraphReports(tx, id, last),
    };
    return finishJob(tx, jobId, await reduce(reader));
  }) as Promise<boolean>;
}
