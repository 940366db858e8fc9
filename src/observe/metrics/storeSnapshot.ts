import type { Sql } from 'postgres';
import { countJobProcesses } from '../../store/dashboard/processes.ts';
import { countDeadLetters } from '../../store/deadLetters.ts';
import { countJobs } from '../../store/progress.ts';

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
  /** Live processes holding a running task of the job now. */
  processes: number;
}

/**
 * Every job's figures, in two round trips whatever the number of jobs: the jobs (with their
 * fan-out parents waiting, few and in the partial index tasks_waiting), then together the
 * maintained task counters (countJobs, as `sluice status` reads them), the dead letters and the
 * live processes holding running tasks. A database without schema `sluice` holds no jobs.
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
  const jobs = await sql<{ id: string; job: string; status: string; waiting: number }[]>`
    select j.id::text, j.name as job, j.status, coalesce(w.tasks, 0)::float8 as waiting
    from sluice.jobs j
    left join (select job_id, count(*) as tasks from sluice.tasks
               where status = 'waiting' group by job_id) w on w.job_id = j.id
    order by j.name`;
  const ids = jobs.map((row) => row.id);
  const [counts, letters, processes] = await Promise.all([
    countJobs(sql, ids),
    countDeadLetters(sql, ids),
    countJobProcesses(sql, ids),
  ]);
  return jobs.map(({ id, job, status, waiting }) => {
    const c = counts.get(id);
    return {
      job,
      status,
      tasks: {
        pending: c?.pending.tasks ?? 0,
        running: c?.running.tasks ?? 0,
        waiting,
        done: c?.done.tasks ?? 0,
        failed: c?.failed.tasks ?? 0,
      },
      succeededItems: c?.done.items ?? 0,
      failedItems: c?.failed.items ?? 0,
      deadLetters: letters.get(id) ?? 0,
      processes: processes.get(id) ?? 0,
    };
  });
}
