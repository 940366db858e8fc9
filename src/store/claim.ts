import type { Sql } from 'postgres';
import { leaseSeconds } from './liveness.ts';

export interface ClaimedTask {
  seq: number;
  payload: unknown;
  items: number;
  attempts: number;
  epoch: number;
  checkpoint: unknown;
}

/**
 * Claims up to `limit` runnable tasks of a job for a process, never letting the job's running
 * tasks exceed its cap, summed over every process and machine. See migration 0002 for how.
 */
export async function claimTasks(
  sql: Sql,
  jobId: string,
  processId: number,
  limit: number,
): Promise<ClaimedTask[]> {
  if (limit < 1) return [];
  return sql<ClaimedTask[]>`
    select * from sluice.claim_tasks(${jobId}, ${processId}, ${limit}, ${leaseSeconds})`;
}

/** When the next pending task of a job becomes runnable, or undefined when none is pending. */
export async function nextRunnableAt(sql: Sql, jobId: string): Promise<Date | undefined> {
  const [row] = await sql<{ at: Date | null }[]>`
    select min(run_after) as at from sluice.tasks where job_id = ${jobId} and status = 'pending'`;
  return row?.at ?? undefined;
}
