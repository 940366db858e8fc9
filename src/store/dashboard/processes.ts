import type { Sql } from 'postgres';
import { lockOf } from '../liveness.ts';
import { isoTime } from './time.ts';

/** A sluice process working on a job: it holds at least one of the job's running tasks. */
export interface JobProcess {
  id: number;
  host: string | null;
  pid: number | null;
  startedAt: string | null;
  /** Its last lease renewal (every 10 s while it works). */
  lastSeenAt: string | null;
  /** Its advisory lock is held: the process is alive. */
  alive: boolean;
  tasksHeld: number;
}

/**
 * The processes that hold running tasks of a job, from the running tasks (the tasks_open index:
 * no more of them than the job's cap) joined with sluice.processes. A task whose owner left no row
 * (it registered before migration 0014) still shows, with its id alone.
 */
export async function jobProcesses(sql: Sql, jobId: string): Promise<JobProcess[]> {
  const rows = await sql<
    {
      id: number;
      host: string | null;
      pid: number | null;
      startedAt: Date | null;
      lastSeenAt: Date | null;
      alive: boolean;
      tasksHeld: number;
    }[]
  >`
    select h.owner as id, p.host, p.pid, p.started_at as "startedAt",
      p.last_seen_at as "lastSeenAt",
      exists (select 1 from pg_locks l where ${lockOf(sql, sql`h.owner`)}) as alive,
      h.tasks as "tasksHeld"
    from (select owner, count(*)::int as tasks from sluice.tasks
          where job_id = ${jobId} and status = 'running' and owner is not null
          group by owner) h
    left join sluice.processes p on p.id = h.owner
    order by h.owner`;
  return rows.map((r) => ({
    ...r,
    startedAt: isoTime(r.startedAt),
    lastSeenAt: isoTime(r.lastSeenAt),
  }));
}

/**
 * How many live processes work on each of the jobs (holding one of its running tasks), for the
 * jobs list and `sluice_job_processes{job}`. Every job asked for has an entry.
 */
export async function countJobProcesses(
  sql: Sql,
  jobIds: readonly string[],
): Promise<Map<string, number>> {
  const counts = new Map(jobIds.map((id) => [id, 0]));
  if (jobIds.length === 0) return counts;
  const rows = await sql<{ jobId: string; processes: number }[]>`
    select t.job_id::text as "jobId", count(distinct t.owner)::int as processes
    from unnest(${jobIds as string[]}::bigint[]) j(id)
    join sluice.tasks t on t.job_id = j.id and t.status = 'running'
    where exists (select 1 from pg_locks l where ${lockOf(sql, sql`t.owner`)})
    group by t.job_id`;
  for (const row of rows) counts.set(row.jobId, row.processes);
  return counts;
}
