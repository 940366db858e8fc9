// What the claims bench needs of a claim design: a job to claim from, one claim, one completion,
// and where its running tasks live (the cap check counts them there).
import type { Sql, TransactionSql } from 'postgres';

export type Db = Sql | TransactionSql;

export interface Claimed {
  seq: number;
  epoch: number;
}

export interface Design {
  /** Short name for the tables. */
  key: string;
  /** One line on what it does. */
  label: string;
  /** False for the baseline, which has no cap. */
  capped: boolean;
  /** Quoted schema holding its jobs, tasks and outcomes tables. */
  schema: string;
  /** A running job of `tasks` pending tasks under `cap`; returns its id. */
  createJob(cap: number, tasks: number): Promise<string>;
  /** Claims one task for `owner`, or none. */
  claim(sql: Db, jobId: string, owner: number): Promise<Claimed | undefined>;
  /** Completes it as sluice's completeTask does (an epoch-fenced update). */
  complete(sql: Db, jobId: string, task: Claimed): Promise<boolean>;
  /** After a cell, with every task finished: a message when its bookkeeping disagrees with the tasks. */
  check?(sql: Sql, jobId: string): Promise<string | undefined>;
}

/** The claim's update, as in sluice.claim_tasks (0007): same columns, same write volume. */
export const claimSet = (alias: string) => `
  status = 'running', owner = p_owner, attempts = ${alias}.attempts + 1, epoch = ${alias}.epoch + 1,
  lease_until = now() + make_interval(secs => p_lease_seconds), started_at = now()`;

/** sluice's completeTask (src/store/outcome.ts) on a scratch schema's tasks. */
export async function completeIn(sql: Db, s: string, jobId: string, task: Claimed) {
  const rows = await sql.unsafe(
    `update ${s}.tasks set status = 'done', report = '{"ok":true}'::jsonb, error = null,
       error_stack = null, owner = null, lease_until = null, finished_at = now()
     where job_id = $1 and seq = $2 and epoch = $3 and status = 'running'
     returning seq`,
    [jobId, task.seq, task.epoch],
  );
  return rows.length > 0;
}

/** Calls a scratch schema's claim_tasks(job, owner, 1, 60). */
export async function claimIn(sql: Db, s: string, jobId: string, owner: number) {
  const [row] = await sql.unsafe<Claimed[]>(
    `select seq, epoch from ${s}.claim_tasks($1, $2, 1, 60)`,
    [jobId, owner],
  );
  return row;
}
