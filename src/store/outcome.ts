import type { Sql, TransactionSql } from 'postgres';
import { toJsonText } from './json.ts';

/** Identifies one claim of a task: a write carrying an older epoch comes from a stale worker. */
export interface Claim {
  jobId: string;
  seq: number;
  epoch: number;
  /**
   * Set for a transactional attempt (taskTransaction.ts): its writes land only inside the
   * transaction that set this token, never on a session postgres.js reopened after a lost one.
   */
  transaction?: string;
}

/**
 * Records a finished task and its report. Returns false when the claim is stale and the write was
 * refused. `handedOnItems`: a pipeline stage moved its items to the next stage's task.
 */
export async function completeTask(
  sql: Sql | TransactionSql,
  claim: Claim,
  report: unknown,
  handedOnItems = false,
): Promise<boolean> {
  const rows = await sql`
    update sluice.tasks set status = 'done', report = ${toJsonText(report)}::text::jsonb,
      items = case when ${handedOnItems} then 0 else items end, error = null,
      error_stack = null, owner = null, lease_until = null, finished_at = now()
    where job_id = ${claim.jobId} and seq = ${claim.seq} and epoch = ${claim.epoch} and status = 'running'
      and (${claim.transaction ?? null}::text is null or current_setting('sluice.claim', true) = ${claim.transaction ?? null})
    returning seq`;
  return rows.length > 0;
}

/**
 * Records a failed try. With `retryInMs` the task goes back to the queue, runnable that long
 * from now; without it the task is failed for good. Returns false when the claim is stale. Times
 * are the server's, as every claim compares them with the server's clock: hosts may disagree.
 */
export async function failTask(
  sql: Sql,
  claim: Claim,
  error: Error,
  retryInMs: number | undefined,
): Promise<boolean> {
  const retry = retryInMs !== undefined;
  const rows = await sql`
    update sluice.tasks set
      status = ${retry ? 'pending' : 'failed'},
      run_after = case when ${retry} then now() + make_interval(secs => ${(retryInMs ?? 0) / 1000}) else run_after end,
      error = ${error.message}, error_stack = ${error.stack ?? null}, owner = null, lease_until = null,
      finished_at = case when ${retry} then null else now() end
    where job_id = ${claim.jobId} and seq = ${claim.seq} and epoch = ${claim.epoch} and status = 'running'
    returning seq`;
  return rows.length > 0;
}

/** Gives an interrupted task back untouched: the try that was cut short does not count. */
export async function releaseTask(sql: Sql, claim: Claim): Promise<void> {
  await sql`
    update sluice.tasks set status = 'pending', attempts = greatest(attempts - 1, 0), owner = null,
      lease_until = null, run_after = now(), waiting = false
    where job_id = ${claim.jobId} and seq = ${claim.seq} and epoch = ${claim.epoch} and status = 'running'`;
}

/** Marks a claimed task as waiting for a worker, or as on one: see reclaimOrphans. */
export async function markWaiting(sql: Sql, claim: Claim, waiting: boolean): Promise<void> {
  await sql`
    update sluice.tasks set waiting = ${waiting}
    where job_id = ${claim.jobId} and seq = ${claim.seq} and epoch = ${claim.epoch} and status = 'running'`;
}

/** Saves how far a long task got, so a retry or a resumed run continues after it. */
export async function saveCheckpoint(sql: Sql, claim: Claim, cursor: unknown): Promise<boolean> {
  const rows = await sql`
    update sluice.tasks set checkpoint = ${toJsonText(cursor)}::text::jsonb
    where job_id = ${claim.jobId} and seq = ${claim.seq} and epoch = ${claim.epoch} and status = 'running'
      and (${claim.transaction ?? null}::text is null or current_setting('sluice.claim', true) = ${claim.transaction ?? null})
    returning seq`;
  return rows.length > 0;
}
