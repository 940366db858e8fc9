import type { Sql } from 'postgres';
import type { JobStatus } from '../jobs.ts';
import { countJobs } from '../progress.ts';
import { countJobProcesses } from './processes.ts';
import { recentRates } from './throughput.ts';
import { isoTime } from './time.ts';

/** A job as the dashboard's list shows it. */
export interface JobSummary {
  id: string;
  name: string;
  status: JobStatus;
  statusReason: string | null;
  /** What its items are called (`rows`, `items`). */
  unit: string;
  totalItems: number;
  doneItems: number;
  failedItems: number;
  /** Items finished per second over the last minute or so (RecentRate). */
  rate: number;
  /** Seconds until the items not yet finished are, at that rate; null when it cannot end so. */
  etaS: number | null;
  startedAt: string;
  finishedAt: string | null;
  /** Seconds from start to finish, or to now while it is unfinished. */
  elapsedS: number;
  cap: number;
  /** Live processes holding one of its running tasks. */
  processes: number;
}

/**
 * The newest `limit` jobs (default 100) with the list's fields. Counts come from the maintained
 * counters (countJobs), the rate from the completions rollup, and processes from the running
 * tasks: four small queries whatever the size of the jobs.
 */
export async function jobsOverview(sql: Sql, limit = 100): Promise<JobSummary[]> {
  const jobs = await sql<
    {
      id: string;
      name: string;
      status: JobStatus;
      statusReason: string | null;
      unit: string;
      totalItems: number;
      cap: number;
      startedAt: Date;
      finishedAt: Date | null;
      elapsedS: number;
    }[]
  >`
    select id::text, name, status, status_reason as "statusReason", unit,
      total_items::float8 as "totalItems", max_parallelism as cap, created_at as "startedAt",
      finished_at as "finishedAt",
      extract(epoch from coalesce(finished_at, now()) - created_at)::float8 as "elapsedS"
    from sluice.jobs order by created_at desc, id desc limit ${limit}`;
  const ids = jobs.map((j) => j.id);
  const [counts, rates, processes] = await Promise.all([
    countJobs(sql, ids),
    recentRates(sql, ids),
    countJobProcesses(sql, ids),
  ]);
  return jobs.map((job) => {
    const c = counts.get(job.id);
    const doneItems = c?.done.items ?? 0;
    const failedItems = c?.failed.items ?? 0;
    const rate = rates.get(job.id)?.itemsPerS ?? 0;
    const left = (c?.pending.items ?? 0) + (c?.running.items ?? 0);
    const unfinished = job.status === 'running' || job.status === 'paused';
    return {
      id: job.id,
      name: job.name,
      status: job.status,
      statusReason: job.statusReason,
      unit: job.unit,
      totalItems: job.totalItems,
      doneItems,
      failedItems,
      rate,
      etaS: !unfinished ? null : left === 0 ? 0 : rate > 0 ? left / rate : null,
      startedAt: isoTime(job.startedAt) as string,
      finishedAt: isoTime(job.finishedAt),
      elapsedS: job.elapsedS,
      cap: job.cap,
      processes: processes.get(job.id) ?? 0,
    };
  });
}
