import type { Sql, TransactionSql } from 'postgres';
import type { PlannedTask } from '../job/types.ts';
import type { StoppedBy } from './jobControl.ts';
import { toJsonText } from './json.ts';

/** A pool or an open transaction: the queries below run in either. */
type Db = Sql | TransactionSql;

export type JobStatus = 'running' | 'paused' | 'cancelled' | 'done' | 'failed';

export interface JobRow {
  id: string;
  name: string;
  status: JobStatus;
  /** Why it is paused, cancelled, or failed by the alert or its deadline (see jobControl.ts). */
  statusReason: string | null;
  stoppedBy: StoppedBy | null;
  source: string;
  /** What its items are called: `rows` or `items`, from the source. */
  unit: string;
  /** What its tasks are called: `ranges`, `chunks`, `batches`, from the source. */
  taskNoun: string;
  fingerprint: string;
  maxParallelism: number;
  maxAttempts: number;
  totalTasks: number;
  totalItems: number;
  result: unknown;
  /** The result is a MapReduce record, shown with its keys sorted. */
  keyedResult: boolean;
  createdAt: Date;
  finishedAt: Date | null;
  /** Where `sluice run` last loaded the job's module from, when it did. */
  module: string | null;
}

const jobColumns = (sql: Db) => sql`
  id::text, name, status, status_reason as "statusReason", stopped_by as "stoppedBy", source, unit, task_noun as "taskNoun", fingerprint, max_parallelism as "maxParallelism",
  max_attempts as "maxAttempts", total_tasks as "totalTasks", total_items::float8 as "totalItems",
  result, keyed_result as "keyedResult", created_at as "createdAt", finished_at as "finishedAt", module`;

export async function findJob(sql: Db, name: string): Promise<JobRow | undefined> {
  const [row] = await sql<
    JobRow[]
  >`select ${jobColumns(sql)} from sluice.jobs where name = ${name}`;
  return row;
}

export async function listJobs(sql: Sql): Promise<JobRow[]> {
  return sql<
    JobRow[]
  >`select ${jobColumns(sql)} from sluice.jobs order by created_at desc, id desc`;
}

export interface NewJob {
  name: string;
  source: string;
  /** Default `items`. */
  unit?: string;
  /** Default `tasks`. */
  taskNoun?: string;
  /** A MapReduce job: its result is keyed (see JobRow.keyedResult). */
  keyedResult?: boolean;
  fingerprint: string;
  maxParallelism: number;
  maxAttempts: number;
  /** The source appends tasks while the job runs (a micro-batch stream): unfinished until closed. */
  open?: boolean;
}

// A statement takes up to 2,000 tasks or 20,000 items, whichever comes first: inserts stay small
// and a plan of chunks holds only a few of them in memory.
const insertBatch = { tasks: 2000, items: 20_000 };

/**
 * Finds the job, or plans it: the job row and all its tasks are written in one transaction, so a
 * plan that fails half-way leaves nothing behind. An advisory lock on the name makes concurrent
 * starters wait for the first one's plan and then join it. `replace` plans afresh (`--rerun`).
 */
export async function findOrCreateJob(
  sql: Sql,
  job: NewJob,
  plan: () => AsyncIterable<PlannedTask>,
  replace = false,
): Promise<{ job: JobRow; created: boolean }> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtextextended(${`sluice.job:${job.name}`}, 0))`;
    // Replacing inside the transaction keeps the old job intact if the new plan fails.
    if (replace) await deleteJob(tx, job.name);
    const existing = await findJob(tx, job.name);
    if (existing) return { job: existing, created: false };
    const [created] = await tx<{ id: string }[]>`
      insert into sluice.jobs (name, status, source, unit, task_noun, keyed_result, fingerprint, max_parallelism, max_attempts, open)
      values (${job.name}, 'running', ${job.source}, ${job.unit ?? 'items'}, ${job.taskNoun ?? 'tasks'}, ${job.keyedResult ?? false}, ${job.fingerprint}, ${job.maxParallelism}, ${job.maxAttempts}, ${job.open ?? false})
      returning id::text`;
    const jobId = (created as { id: string }).id;
    let seq = 0;
    let items = 0;
    let batch: PlannedTask[] = [];
    let batchItems = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      await insertTasks(tx, jobId, seq - batch.length, batch);
      batch = [];
      batchItems = 0;
    };
    for await (const task of plan()) {
      batch.push(task);
      seq += 1;
      items += task.items;
      batchItems += task.items;
      if (batch.length >= insertBatch.tasks || batchItems >= insertBatch.items) await flush();
    }
    await flush();
    await tx`update sluice.jobs set total_tasks = ${seq}, total_items = ${items} where id = ${jobId}`;
    const row = (await findJob(tx, job.name)) as JobRow;
    return { job: row, created: true };
  }) as Promise<{ job: JobRow; created: boolean }>;
}

async function insertTasks(sql: Db, jobId: string, firstSeq: number, tasks: PlannedTask[]) {
  const payloads = tasks.map((task) => toJsonText(task.payload));
  const items = tasks.map((task) => task.items);
  await sql`
    insert into sluice.tasks (job_id, seq, payload, items)
    select ${jobId}, ${firstSeq} + ord - 1, payload::jsonb, items
    from unnest(${payloads}::text[], ${items}::bigint[]) with ordinality as t(payload, items, ord)`;
}

/** Deletes a job and its tasks, for `--rerun`. */
export async function deleteJob(sql: Db, name: string): Promise<void> {
  await sql`delete from sluice.jobs where name = ${name}`;
}

/**
 * The job's row locked FOR UPDATE, as a CTE for a change of its status or cap to name. Claims read
 * the row FOR KEY SHARE (migration 0017), which a plain update does not wait for: a claim in flight
 * could start a task after a pause returned, or under the cap it read before a lower one. This lock
 * waits for the claims in flight, and a claim after it waits, then reads the row as changed.
 */
export const lockedJob = (sql: Sql, jobId: string) =>
  sql`locked as (select id from sluice.jobs where id = ${jobId} for update)`;

/** Applies the job's current cap and attempts, which the user may have changed between runs. */
export async function updateJobLimits(
  sql: Sql,
  jobId: string,
  maxParallelism: number,
  maxAttempts: number,
) {
  await sql`
    with ${lockedJob(sql, jobId)}
    update sluice.jobs set max_parallelism = ${maxParallelism}, max_attempts = ${maxAttempts}, updated_at = now()
    where id = (select id from locked)`;
}

/**
 * A running job with nothing left to do: no task pending, running or waiting for its children,
 * and no stream that may append more. Kept as two `exists` so each uses its partial index.
 */
export const closable = (sql: Db) => sql`
  j.status = 'running' and not j.open
  and not exists (select 1 from sluice.tasks
                  where job_id = j.id and status in ('pending', 'running'))
  and not exists (select 1 from sluice.tasks where job_id = j.id and status = 'waiting')`;

/**
 * Marks the job finished once it is closable. Returns false when work remains or another process
 * finished it first; exactly one caller wins.
 */
export async function finishJob(sql: Db, jobId: string, result: unknown): Promise<boolean> {
  const rows = await sql`
    update sluice.jobs j set
      status = case when exists (select 1 from sluice.tasks where job_id = j.id
                                 and (status = 'failed' or failed_items > 0))
               then 'failed' else 'done' end,
      result = ${toJsonText(result)}::text::jsonb, finished_at = now(), updated_at = now()
    where j.id = ${jobId} and ${closable(sql)}
    returning j.id`;
  return rows.length > 0;
}

/**
 * Puts the failed tasks of a job back in the queue with fresh attempts, and the chunks that
 * finished with failed items, whole. Returns how many.
 */
export async function requeueFailed(sql: Sql, jobId: string): Promise<number> {
  return sql.begin(async (tx) => {
    const rows = await tx`
      update sluice.tasks set status = 'pending', attempts = 0, run_after = now(), error = null,
        error_stack = null, finished_at = null, ok_items = null, failed_items = null,
        -- A finished chunk runs again whole: its last per-item checkpoint says it is complete.
        checkpoint = case when status = 'done' then null else checkpoint end
      where job_id = ${jobId} and (status = 'failed' or (status = 'done' and failed_items > 0))
      returning seq`;
    if (rows.length > 0) await reopenJob(tx, jobId, 0);
    return rows.length;
  }) as Promise<number>;
}

/**
 * Makes a finished (or stopped) job run again after tasks were re-queued or added: running, no
 * finish time, and no stop reason or tripped alert left over from the run before.
 */
export async function reopenJob(tx: Db, jobId: string, addedTasks: number): Promise<void> {
  await tx`
    update sluice.jobs set total_tasks = total_tasks + ${addedTasks}, status = 'running',
      finished_at = null, updated_at = now(), status_reason = null, stopped_by = null,
      alert_tripped_at = null
    where id = ${jobId}`;
}

/** Locks the job row: whoever appends tasks holds it, so new sequence numbers never collide. */
export async function lockJob(tx: Db, jobId: string): Promise<void> {
  await tx`select id from sluice.jobs where id = ${jobId} for update`;
}

/** Remembers the module a job was run from, so commands given only its name can load it. */
export async function setJobModule(sql: Sql, name: string, module: string): Promise<void> {
  await sql`update sluice.jobs set module = ${module} where name = ${name}`;
}
