import type { Sql, TransactionSql } from 'postgres';
import { leaseSeconds } from './liveness.ts';
import { recordSucceededChunks, type SucceededChunk } from './outcomes.ts';

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
  sql: Sql | TransactionSql,
  jobId: string,
  processId: number,
  limit: number,
  /** How many of the job's tasks this process holds already, when known (migration 0017). */
  held?: number,
): Promise<ClaimedTask[]> {
  if (limit < 1) return [];
  return sql<ClaimedTask[]>`
    select * from sluice.claim_tasks(${jobId}, ${processId}, ${limit}, ${leaseSeconds}, ${held ?? null})`;
}

/**
 * Records chunks whose items all succeeded (recordSucceededChunks) and claims up to `limit` tasks
 * in one transaction: postgres.js pipelines the two statements, and the claim takes the slots the
 * completions just freed (this transaction's own locks do not make it skip them). One commit for
 * both, where a completion and a claim each committed. If it throws, neither happened.
 */
export async function finishChunksAndClaim(
  sql: Sql,
  jobId: string,
  processId: number,
  chunks: readonly SucceededChunk[],
  limit: number,
  held?: number,
): Promise<{ finished: Set<number>; claimed: ClaimedTask[] }> {
  const [finished, claimed] = (await sql.begin((tx) => [
    recordSucceededChunks(tx, jobId, chunks),
    claimTasks(tx, jobId, processId, limit, held),
  ])) as [Set<number>, ClaimedTask[]];
  return { finished, claimed };
}

/**
 * When the next pending task of a job becomes runnable, or undefined when none is pending. A
 * sequential job (cap 1) claims only its first pending task (migration 0007), so that task's
 * time is the one to wait for; the earliest of all would make an idle pool spin through a backoff.
 * "First" in the claim's own order (migration 0016: depth, always 0 in a job without stages, then
 * seq), which only tasks_pending_depth serves without a sort, whatever the statistics say.
 */
export async function nextRunnableAt(sql: Sql, jobId: string): Promise<Date | undefined> {
  const [row] = await sql<{ at: Date | null }[]>`
    select case when j.max_parallelism = 1
      then (select t.run_after from sluice.tasks t
            where t.job_id = j.id and t.status = 'pending' order by t.depth desc, t.seq limit 1)
      else (select min(t.run_after) from sluice.tasks t where t.job_id = j.id and t.status = 'pending')
      end as at
    from sluice.jobs j where j.id = ${jobId}`;
  return row?.at ?? undefined;
}
