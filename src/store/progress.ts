import type { Sql, TransactionSql } from 'postgres';

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

/** A job with no tasks yet, or none that this job's counters hold. */
const noCounts = (): JobCounts => ({
  pending: { tasks: 0, items: 0 },
  running: { tasks: 0, items: 0 },
  done: { tasks: 0, items: 0 },
  failed: { tasks: 0, items: 0 },
});

/**
 * The sums of the counter rows (one per shard) of each job, which the triggers of migration 0015
 * keep exact, with its running tasks counted live: the counters hold pending and running tasks
 * together (see the migration for why), and a job has at most its cap of running tasks. One
 * statement, so one snapshot: the pending tasks are the open ones less those running. A read
 * touches a few buffers whatever the job's size: 6 in 0.06-0.09 ms on a job of 1,000,000 tasks
 * with 14 running, where the count(*) it replaces read 15,401 in 323-454 ms (PostgreSQL 15, a
 * busy machine; test/store/taskCountsCost.test.ts).
 */
export const countsQuery = (sql: Sql, jobIds: readonly string[]) => sql<
  {
    jobId: string;
    pendingTasks: number;
    pendingItems: number;
    runningTasks: number;
    runningItems: number;
    doneTasks: number;
    doneItems: number;
    failedTasks: number;
    failedItems: number;
  }[]
>`
  select c.job_id::text as "jobId",
    (c.open_tasks - r.tasks)::float8 as "pendingTasks", (c.open_items - r.items)::float8 as "pendingItems",
    r.tasks::float8 as "runningTasks", r.items::float8 as "runningItems",
    c.done_tasks::float8 as "doneTasks", c.done_items::float8 as "doneItems",
    c.failed_tasks::float8 as "failedTasks", c.failed_items::float8 as "failedItems"
  from (
    select job_id, sum(open_tasks) as open_tasks, sum(open_items) as open_items,
      sum(done_tasks) as done_tasks, sum(done_items) as done_items,
      sum(failed_tasks) as failed_tasks, sum(failed_items) as failed_items
    from sluice.task_counts where job_id = any(${jobIds as string[]}::bigint[]) group by job_id
  ) c
  cross join lateral (
    select count(*) as tasks, coalesce(sum(t.items), 0) as items from sluice.tasks t
    where t.job_id = c.job_id and t.status = 'running'
  ) r`;

/**
 * Tasks and items of a job by status. `done.items` counts the items that succeeded; `failed.items`
 * counts every failed item: those of failed tasks, and the failed items of finished chunks. Tasks
 * waiting for their children (fan-out parents) count in none of the four.
 */
export async function countTasks(sql: Sql, jobId: string): Promise<JobCounts> {
  return (await countJobs(sql, [jobId])).get(jobId) ?? noCounts();
}

/** `countTasks` for several jobs in one query; every job asked for has an entry. */
export async function countJobs(
  sql: Sql,
  jobIds: readonly string[],
): Promise<Map<string, JobCounts>> {
  const counts = new Map(jobIds.map((id) => [id, noCounts()]));
  if (jobIds.length === 0) return counts;
  for (const row of await countsQuery(sql, jobIds)) {
    counts.set(row.jobId, {
      pending: { tasks: row.pendingTasks, items: row.pendingItems },
      running: { tasks: row.runningTasks, items: row.runningItems },
      done: { tasks: row.doneTasks, items: row.doneItems },
      failed: { tasks: row.failedTasks, items: row.failedItems },
    });
  }
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
  sql: Sql | TransactionSql,
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
