import type { Sql } from 'postgres';
import type { JobStatus } from './jobs.ts';

/** A job that ended before the cutoff, with what deleting it removes. */
export interface PrunableJob {
  id: string;
  name: string;
  status: JobStatus;
  finishedAt: Date;
  tasks: number;
  outcomes: number;
  deadLetters: number;
}

/** A job that `prune` keeps because it has not ended: it is running or paused. */
export interface UnendedJob {
  name: string;
  status: JobStatus;
}

// Ended for good: nothing claims these jobs' tasks until someone runs them again.
const ended: readonly JobStatus[] = ['done', 'failed', 'cancelled'];

/**
 * The ended jobs that finished more than `olderThanS` seconds ago (by the server's clock), with
 * the rows each holds; only `names` when given. Counting outcomes reads each job's primary-key
 * index: about a second per 10M outcomes.
 */
export async function findPrunable(
  sql: Sql,
  olderThanS: number,
  names?: readonly string[],
): Promise<PrunableJob[]> {
  return sql<PrunableJob[]>`
    select j.id::text, j.name, j.status, j.finished_at as "finishedAt",
      (select count(*) from sluice.tasks t where t.job_id = j.id)::float8 as tasks,
      (select count(*) from sluice.outcomes o where o.job_id = j.id)::float8 as outcomes,
      (select count(*) from sluice.dead_letters d where d.job_id = j.id)::float8 as "deadLetters"
    from sluice.jobs j
    where j.status = any(${ended as string[]}::text[])
      and j.finished_at < now() - make_interval(secs => ${olderThanS})
      and (${names === undefined} or j.name = any(${(names ?? []) as string[]}::text[]))
    order by j.finished_at, j.id`;
}

/** The named jobs that have not ended, which prune must refuse. */
export async function findUnended(sql: Sql, names: readonly string[]): Promise<UnendedJob[]> {
  return sql<UnendedJob[]>`
    select name, status from sluice.jobs
    where name = any(${names as string[]}::text[]) and status <> all(${ended as string[]}::text[])
    order by name`;
}

/**
 * Deletes the jobs (their tasks, outcomes, dead letters and rate-limit rows go with them, by
 * cascade), checking again that each has ended before the cutoff: a job run again since it was
 * listed is kept. Returns the names deleted.
 */
export async function pruneJobs(
  sql: Sql,
  ids: readonly string[],
  olderThanS: number,
): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    delete from sluice.jobs
    where id = any(${ids as string[]}::bigint[])
      and status = any(${ended as string[]}::text[])
      and finished_at < now() - make_interval(secs => ${olderThanS})
    returning name`;
  return rows.map((row) => row.name);
}
