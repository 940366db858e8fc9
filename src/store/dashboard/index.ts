import type { Sql } from 'postgres';
import { deadLetterPage, deadLetterPayload } from './deadLetters.ts';
import { failureGroups } from './failureGroups.ts';
import { jobsOverview } from './jobsOverview.ts';
import { countJobProcesses, jobProcesses } from './processes.ts';
import { type SearchQuery, searchJob } from './search.ts';
import { type FailedTaskCursor, failedTasks, runningTasks, tasksByState } from './tasks.ts';
import { throughputSeries } from './throughput.ts';

export type { DeadLetterRow } from './deadLetters.ts';
export type { FailureGroup } from './failureGroups.ts';
export type { JobSummary } from './jobsOverview.ts';
export type { JobProcess } from './processes.ts';
export type { DeadLetterHit, OutcomeHit, SearchQuery, SearchResult } from './search.ts';
export type { FailedTaskCursor, FailedTaskRow, RunningTask } from './tasks.ts';
export type { ThroughputPoint, ThroughputSeries } from './throughput.ts';

/**
 * Every read the dashboard makes, on one pool. Each returns plain JSON-ready objects (numbers,
 * ISO time strings) and answers in well under 100 ms at the server on a job of 1,000,000 tasks
 * (bench/dashboard.ts).
 */
export function dashboardQueries(sql: Sql) {
  return {
    jobs: (limit?: number) => jobsOverview(sql, limit),
    throughput: (jobId: string) => throughputSeries(sql, jobId),
    tasksByState: (jobId: string) => tasksByState(sql, jobId),
    runningTasks: (jobId: string) => runningTasks(sql, jobId),
    failedTasks: (jobId: string, options?: { limit?: number; after?: FailedTaskCursor }) =>
      failedTasks(sql, jobId, options),
    deadLetters: (jobId: string, options?: { limit?: number; after?: string }) =>
      deadLetterPage(sql, jobId, options),
    deadLetterPayload: (jobId: string, key: string) => deadLetterPayload(sql, jobId, key),
    failureGroups: (jobId: string, limit?: number) => failureGroups(sql, jobId, limit),
    search: (jobId: string, query: SearchQuery) => searchJob(sql, jobId, query),
    processes: (jobId: string) => jobProcesses(sql, jobId),
    /** Live processes per job, for `sluice_job_processes{job}`. */
    processCounts: (jobIds: readonly string[]) => countJobProcesses(sql, jobIds),
  };
}

export type DashboardQueries = ReturnType<typeof dashboardQueries>;
