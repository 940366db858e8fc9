import type { Sql } from 'postgres';
import { countTasks, type JobCounts } from '../progress.ts';
import { isoTime } from './time.ts';

/** Tasks and items by state: the maintained counters of countTasks, never a count over tasks. */
export const tasksByState = (sql: Sql, jobId: string): Promise<JobCounts> => countTasks(sql, jobId);

export interface RunningTask {
  seq: number;
  attempt: number;
  items: number;
  /** The process id that holds it, and where that process runs (when it registered a row). */
  owner: number | null;
  host: string | null;
  pid: number | null;
  since: string | null;
  /** Claimed ahead for a thread or process worker that has not taken it yet. */
  waiting: boolean;
}

/** A job's running tasks (at most its cap of them, read through the tasks_open index). */
export async function runningTasks(sql: Sql, jobId: string): Promise<RunningTask[]> {
  const rows = await sql<(Omit<RunningTask, 'since'> & { since: Date | null })[]>`
    select t.seq, t.attempts as attempt, t.items::float8 as items, t.owner, p.host, p.pid,
      t.started_at as since, t.waiting
    from sluice.tasks t left join sluice.processes p on p.id = t.owner
    where t.job_id = ${jobId} and t.status = 'running'
    order by t.started_at, t.seq`;
  return rows.map((r) => ({ ...r, since: isoTime(r.since) }));
}

export interface FailedTaskRow {
  seq: number;
  attempts: number;
  items: number;
  error: string | null;
  stack: string | null;
  finishedAt: string | null;
}

/** Where a page of failed tasks ends, to ask for the next one. */
export interface FailedTaskCursor {
  finishedAt: string;
  seq: number;
}

/**
 * Failed tasks, newest first, `limit` per page (index tasks_failed). Pages are keyset, not
 * OFFSET: pass the last row of a page as `after` for the next.
 */
export async function failedTasks(
  sql: Sql,
  jobId: string,
  options: { limit?: number; after?: FailedTaskCursor } = {},
): Promise<FailedTaskRow[]> {
  const limit = options.limit ?? 50;
  const after = options.after;
  const rows = await sql<(Omit<FailedTaskRow, 'finishedAt'> & { finishedAt: Date | null })[]>`
    select seq, attempts, items::float8 as items, error, error_stack as stack,
      finished_at as "finishedAt"
    from sluice.tasks
    where job_id = ${jobId} and status = 'failed'
      ${after ? sql`and (finished_at, seq) < (${after.finishedAt}::timestamptz, ${after.seq})` : sql``}
    order by finished_at desc, seq desc
    limit ${limit}`;
  return rows.map((r) => ({ ...r, finishedAt: isoTime(r.finishedAt) }));
}
