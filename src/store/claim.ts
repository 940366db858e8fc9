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
 * tasks exceed its cap, summed over every process and machine.
 *
 * The job row lock comes first, in a statement of its own: the claim that follows then takes a
 * fresh snapshot, so it counts the running tasks of any claimer that committed while we waited.
 * (One statement would count with a snapshot from before the wait, and overshoot the cap.)
 */
export async function claimTasks(
  sql: Sql,
  jobId: string,
  processId: number,
  limit: number,
): Promise<ClaimedTask[]> {
  if (limit < 1) return [];
  return sql.begin(async (tx) => {
    const [job] = await tx<{ cap: number }[]>`
      select max_parallelism as cap from sluice.jobs where id = ${jobId} and status = 'running' for update`;
    if (!job) return [];
    return tx<ClaimedTask[]>`
      with live as (
        select count(*)::int as n from sluice.tasks where job_id = ${jobId} and status = 'running'
      ), picked as (
        select seq from sluice.tasks
        where job_id = ${jobId} and status = 'pending' and run_after <= now()
        order by seq
        limit greatest(0, least(${limit}::int, ${job.cap}::int - (select n from live)))
        for update skip locked
      )
      update sluice.tasks t set
        status = 'running', owner = ${processId}, attempts = t.attempts + 1, epoch = t.epoch + 1,
        lease_until = now() + make_interval(secs => ${leaseSeconds}), started_at = now()
      from picked where t.job_id = ${jobId} and t.seq = picked.seq
      returning t.seq, t.payload, t.items::float8 as items, t.attempts, t.epoch, t.checkpoint`;
  }) as Promise<ClaimedTask[]>;
}

/** When the next pending task of a job becomes runnable, or undefined when none is pending. */
export async function nextRunnableAt(sql: Sql, jobId: string): Promise<Date | undefined> {
  const [row] = await sql<{ at: Date | null }[]>`
    select min(run_after) as at from sluice.tasks where job_id = ${jobId} and status = 'pending'`;
  return row?.at ?? undefined;
}
