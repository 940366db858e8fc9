import type { Sql } from 'postgres';

/** The task states a job's tasks can be in (see migrations 0001 and 0008). */
export const taskStates = ['pending', 'running', 'waiting', 'done', 'failed'] as const;
export type TaskState = (typeof taskStates)[number];

/** What the store holds for one job, as the store-wide metrics show it. */
export interface JobFigures {
  job: string;
  status: string;
  tasks: Record<TaskState, number>;
  /** Items of finished tasks that succeeded. */
  succeededItems: number;
  /** Failed items: those of failed tasks, and the failed items of finished chunks. */
  failedItems: number;
  deadLetters: number;
  /** Processes holding a running task of the job now. */
  processes: number;
}

/**
 * Every job's figures, read in two statements sent together: one over the jobs (with their dead
 * letters and the processes running their tasks), one over the tasks grouped by job and state.
 * Item counts follow countTasks (src/store/progress.ts), so a scrape and `sluice status` agree.
 * A database without schema `sluice` holds no jobs.
 */
export async function readStoreSnapshot(sql: Sql): Promise<JobFigures[]> {
  try {
    return await readFigures(sql);
  } catch (error) {
    // 3F000: no schema `sluice` yet; 42P01: no table yet (a store opened with `create: false`).
    const code = (error as { code?: string }).code;
    if (code === '3F000' || code === '42P01') return [];
    throw error;
  }
}

async function readFigures(sql: Sql): Promise<JobFigures[]> {
  // Running tasks are few (the caps bound them) and sit in the partial index tasks_open.
  const jobsQuery = sql<
    { id: string; job: string; status: string; deadLetters: number; processes: number }[]
  >`
    select j.id::text, j.name as job, j.status,
      coalesce(d.letters, 0)::float8 as "deadLetters", coalesce(p.owners, 0)::float8 as processes
    from sluice.jobs j
    left join (select job_id, count(*) as letters from sluice.dead_letters group by job_id) d
      on d.job_id = j.id
    left join (select job_id, count(distinct owner) as owners from sluice.tasks
               where status = 'running' group by job_id) p
      on p.job_id = j.id
    order by j.name`;
  const tasksQuery = sql<
    { id: string; status: TaskState; tasks: number; succeeded: number; failed: number }[]
  >`
    select job_id::text as id, status, count(*)::float8 as tasks,
      coalesce(sum(case when status = 'done' then coalesce(ok_items, items) else 0 end), 0)::float8
        as succeeded,
      coalesce(sum(case when status = 'done' then coalesce(failed_items, 0)
                        when status = 'failed' then items else 0 end), 0)::float8 as failed
    from sluice.tasks group by job_id, status`;
  const [jobs, tasks] = await Promise.all([jobsQuery, tasksQuery]);
  const byId = new Map<string, JobFigures>();
  for (const { id, ...row } of jobs) {
    byId.set(id, {
      ...row,
      tasks: { pending: 0, running: 0, waiting: 0, done: 0, failed: 0 },
      succeededItems: 0,
      failedItems: 0,
    });
  }
  for (const row of tasks) {
    // A job created between the two statements shows from the next scrape on.
    const figures = byId.get(row.id);
    if (!figures) continue;
    figures.tasks[row.status] = row.tasks;
    figures.succeededItems += row.succeeded;
    figures.failedItems += row.failed;
  }
  return [...byId.values()];
}
