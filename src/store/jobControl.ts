import type { Sql } from 'postgres';
import { type JobStatus, lockedJob } from './jobs.ts';

const statuses: readonly JobStatus[] = ['running', 'paused', 'cancelled', 'done', 'failed'];

/** Every change of a job's status is announced here, with `{ job, status }` as JSON. */
export const jobsChannel = 'sluice_jobs';

/** Announces the changed job of a CTE that returns its `id` and `status`. */
const announce = (sql: Sql) =>
  sql`pg_notify(${jobsChannel}, json_build_object('job', id::text, 'status', status)::text)`;

/** Who stopped a job that did not stop by itself. */
export type StoppedBy = 'user' | 'alert' | 'deadline';

export interface JobState {
  status: JobStatus;
  statusReason: string | null;
  stoppedBy: StoppedBy | null;
}

export interface StatusChange {
  /** The change happens only from one of these statuses. */
  from: readonly JobState['status'][];
  to: 'running' | 'paused' | 'cancelled' | 'failed';
  /** Shown by `sluice status`; cleared when the job runs again. */
  reason?: string;
  by?: StoppedBy;
  /** Only a job that sluice or a user stopped, not one that failed by itself. */
  stoppedOnly?: boolean;
}

/**
 * Moves a job to another status if it is in one of `change.from`, and tells every process that
 * listens. Returns the new state, or undefined when the job was not in one of those statuses.
 * Back to running, the alert starts counting afresh, so the failures that paused it do not trip
 * it again at once.
 */
export async function changeJobStatus(
  sql: Sql,
  jobId: string,
  change: StatusChange,
): Promise<JobState | undefined> {
  const running = change.to === 'running';
  const [row] = await sql<JobState[]>`
    with ${lockedJob(sql, jobId)}, changed as (
      update sluice.jobs set status = ${change.to},
        status_reason = ${running ? null : (change.reason ?? null)},
        stopped_by = ${running ? null : (change.by ?? 'user')},
        finished_at = case when ${change.to === 'cancelled' || change.to === 'failed'} then now() end,
        alert_since = case when ${running} then now() else alert_since end,
        alert_tripped_at = case when ${running} then null else alert_tripped_at end,
        updated_at = now()
      where id = (select id from locked) and status = any(${change.from as string[]}::text[])
        and (${change.stoppedOnly ?? false} = false or stopped_by is not null)
      returning id, status, status_reason, stopped_by
    )
    select status, status_reason as "statusReason", stopped_by as "stoppedBy",
      ${announce(sql)}
    from changed`;
  return row && { status: row.status, statusReason: row.statusReason, stoppedBy: row.stoppedBy };
}

/** The job's status and why, read fresh: the polling fallback when a notification is missed. */
export async function readJobState(sql: Sql, jobId: string): Promise<JobState | undefined> {
  const [row] = await sql<JobState[]>`
    select status, status_reason as "statusReason", stopped_by as "stoppedBy"
    from sluice.jobs where id = ${jobId}`;
  return row;
}

export interface AlertCounts {
  /** Items finished, done or failed, since the job last started or resumed. */
  processed: number;
  failed: number;
  /** Some process already tripped the alert since then. */
  tripped: boolean;
}

/** Counts for the failure-rate alert, across every process, since the job last resumed. */
export async function alertCounts(sql: Sql, jobId: string): Promise<AlertCounts> {
  const [row] = await sql<AlertCounts[]>`
    with job as (select alert_since, alert_tripped_at from sluice.jobs where id = ${jobId})
    select
      coalesce(sum(case when t.status = 'done' then coalesce(t.ok_items, t.items) + coalesce(t.failed_items, 0)
                        else t.items end), 0)::float8 as processed,
      coalesce(sum(case when t.status = 'done' then coalesce(t.failed_items, 0)
                        else t.items end), 0)::float8 as failed,
      (select alert_tripped_at is not null from job) as tripped
    from sluice.tasks t
    where t.job_id = ${jobId} and t.status in ('done', 'failed')
      and t.finished_at >= coalesce((select alert_since from job), '-infinity')`;
  return row ?? { processed: 0, failed: 0, tripped: false };
}

/**
 * Records that the alert tripped, and applies its action in the same statement: `pause` pauses
 * the job, `abort` fails it, `warn` leaves it running. Only one process wins a trip; the others
 * get false, so the action and the onAlert hook run once.
 */
export async function tripAlert(
  sql: Sql,
  jobId: string,
  action: 'warn' | 'pause' | 'abort',
  reason: string,
): Promise<boolean> {
  const to = action === 'pause' ? 'paused' : action === 'abort' ? 'failed' : 'running';
  const rows = await sql`
    with ${lockedJob(sql, jobId)}, tripped as (
      update sluice.jobs set alert_tripped_at = now(), status = ${to},
        status_reason = ${to === 'running' ? null : reason},
        stopped_by = ${to === 'running' ? null : 'alert'},
        finished_at = case when ${to === 'failed'} then now() end, updated_at = now()
      where id = (select id from locked) and status = 'running' and alert_tripped_at is null
      returning id, status
    )
    select ${announce(sql)}
    from tripped`;
  return rows.length > 0;
}

/** Where NOTIFYs are heard: a postgres.js pool, or a process's lock session (liveness.ts). */
export interface NoticeSource {
  listen(
    channel: string,
    onNotice: (payload: string) => void,
  ): Promise<{ unlisten(): Promise<unknown> }>;
}

/**
 * Calls `onChange(jobId, status)` for every status change any process announces, with the status
 * it announced. A process that joined listens on its lock session; otherwise (the dashboard)
 * postgres.js listens on a connection of its own, outside the pool, and again after a reconnect.
 */
export async function listenJobs(
  on: NoticeSource,
  onChange: (jobId: string, status: JobStatus | undefined) => void,
): Promise<() => Promise<void>> {
  const { unlisten } = await on.listen(jobsChannel, (payload) => {
    try {
      const { job, status } = JSON.parse(payload) as { job?: unknown; status?: unknown };
      if (typeof job === 'string')
        onChange(
          job,
          statuses.find((known) => known === status),
        );
    } catch {
      // Not ours: anyone may notify on a channel.
    }
  });
  return async () => {
    await unlisten();
  };
}
