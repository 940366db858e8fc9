import type { Sql } from 'postgres';

export interface Tally {
  tasks: number;
  items: number;
}

export interface JobCounts {
  pending: Tally;
  running: Tally;
  done: Tally;
  failed: Tally;
}

/** Tasks and items of a job by status, in one index scan. */
export async function countTasks(sql: Sql, jobId: string): Promise<JobCounts> {
  const rows = await sql<{ status: keyof JobCounts; tasks: number; items: number }[]>`
    select status, count(*)::int as tasks, coalesce(sum(items), 0)::float8 as items
    from sluice.tasks where job_id = ${jobId} group by status`;
  const counts: JobCounts = {
    pending: { tasks: 0, items: 0 },
    running: { tasks: 0, items: 0 },
    done: { tasks: 0, items: 0 },
    failed: { tasks: 0, items: 0 },
  };
  for (const row of rows) counts[row.status] = { tasks: row.tasks, items: row.items };
  return counts;
}

/** Streams the reports of finished tasks in plan order, a page at a time, so memory stays flat. */
export async function* readReports(
  sql: Sql,
  jobId: string,
): AsyncGenerator<{ seq: number; report: unknown }> {
  const pages = sql<{ seq: number; report: unknown }[]>`
    select seq, report from sluice.tasks where job_id = ${jobId} and status = 'done' order by seq`.cursor(
    500,
  );
  for await (const page of pages) yield* page;
}

export interface FailedTask {
  seq: number;
  payload: unknown;
  attempts: number;
  error: string | null;
}

/** The failed tasks of a job, first `limit` in plan order. */
export async function listFailed(sql: Sql, jobId: string, limit: number): Promise<FailedTask[]> {
  return sql<FailedTask[]>`
    select seq, payload, attempts, error from sluice.tasks
    where job_id = ${jobId} and status = 'failed' order by seq limit ${limit}`;
}
