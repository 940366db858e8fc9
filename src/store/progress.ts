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

/**
 * Tasks and items of a job by status, in one index scan. `done.items` counts the items that
 * succeeded; `failed.items` counts every failed item: those of failed tasks, and the failed items
 * of finished chunks.
 */
export async function countTasks(sql: Sql, jobId: string): Promise<JobCounts> {
  const rows = await sql<
    { status: keyof JobCounts; tasks: number; items: number; failedItems: number }[]
  >`
    select status, count(*)::int as tasks,
      coalesce(sum(case when status = 'done' then coalesce(ok_items, items)
                        when status = 'failed' then 0 else items end), 0)::float8 as items,
      coalesce(sum(case when status = 'done' then coalesce(failed_items, 0)
                        when status = 'failed' then items else 0 end), 0)::float8 as "failedItems"
    from sluice.tasks where job_id = ${jobId} group by status`;
  const counts: JobCounts = {
    pending: { tasks: 0, items: 0 },
    running: { tasks: 0, items: 0 },
    done: { tasks: 0, items: 0 },
    failed: { tasks: 0, items: 0 },
  };
  let failedItems = 0;
  for (const row of rows) {
    counts[row.status] = { tasks: row.tasks, items: row.items };
    failedItems += row.failedItems;
  }
  counts.failed.items = failedItems;
  return counts;
}

/**
 * Whether any task of the job is pending, running or waiting for its children, or the job's
 * stream may still append some. An idle worker pool asks this every poll, so it stops at the
 * first open task in the partial indexes instead of counting the whole job.
 */
export async function hasOpenTasks(sql: Sql, jobId: string): Promise<boolean> {
  const [row] = await sql<{ open: boolean }[]>`
    select exists (select 1 from sluice.tasks
                   where job_id = ${jobId} and status in ('pending', 'running'))
      or exists (select 1 from sluice.tasks where job_id = ${jobId} and status = 'waiting')
      or exists (select 1 from sluice.jobs where id = ${jobId} and open) as open`;
  return row?.open ?? false;
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
