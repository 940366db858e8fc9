import type { Sql } from 'postgres';
import type { Outcome } from '../job/outcome.ts';
import { lockJob, reopenJob } from './jobs.ts';
import { toJsonText } from './json.ts';

/** One item that failed for good, as `sluice dlq` shows it. */
export interface DeadLetter {
  key: string;
  /** The task that recorded its latest failure. */
  taskSeq: number;
  payload: unknown;
  error: string;
  stack: string | null;
  /** Tries over every run, summed. */
  attempts: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
}

/**
 * What a chunk's outcomes do to the dead-letter table, as columns for one `unnest`: the failed
 * items to upsert and the keys of items that succeeded, whose rows go. An item listed twice in a
 * chunk is one row (attempts summed, the last error kept), and a key that both failed and
 * succeeded counts as failed: one statement may touch a row only once.
 */
export function deadLetterColumns(
  outcomes: readonly Outcome[],
  keys: readonly string[],
  taskAttempt: number,
) {
  const failures = new Map<
    string,
    { item: string; error: string; stack: string | null; attempts: number }
  >();
  const succeeded = new Set<string>();
  outcomes.forEach((o, i) => {
    const key = keys[i] as string;
    if (o.ok) {
      succeeded.add(key);
      return;
    }
    const earlier = failures.get(key)?.attempts ?? 0;
    failures.set(key, {
      item: toJsonText(o.item),
      error: o.error,
      stack: o.stack ?? null,
      attempts: earlier + Math.max(1, o.attempts ?? taskAttempt),
    });
  });
  const rows = [...failures.entries()];
  return {
    keys: rows.map(([key]) => key),
    items: rows.map(([, f]) => f.item),
    errors: rows.map(([, f]) => f.error),
    stacks: rows.map(([, f]) => f.stack),
    // Text, like every column of the batch: postgres.js cannot type an array that starts with null.
    attempts: rows.map(([, f]) => String(f.attempts)),
    revived: [...succeeded].filter((key) => !failures.has(key)),
  };
}

const columns = (sql: Sql) => sql`
  item_key as key, task_seq as "taskSeq", payload, error, error_stack as stack, attempts,
  first_failed_at as "firstFailedAt", last_failed_at as "lastFailedAt"`;

/** A job's dead letters in key order, the first `limit` of them, and how many there are. */
export async function listDeadLetters(
  sql: Sql,
  jobId: string,
  limit: number,
): Promise<{ total: number; letters: DeadLetter[] }> {
  const letters = await sql<DeadLetter[]>`
    select ${columns(sql)} from sluice.dead_letters
    where job_id = ${jobId} order by item_key limit ${limit}`;
  const [row] = await sql<{ total: number }[]>`
    select count(*)::int as total from sluice.dead_letters where job_id = ${jobId}`;
  return { total: row?.total ?? 0, letters };
}

/** How many dead letters each of the jobs holds, in one query (jobs with none are left out). */
export async function countDeadLetters(
  sql: Sql,
  jobIds: readonly string[],
): Promise<Map<string, number>> {
  const rows = await sql<{ jobId: string; total: number }[]>`
    select job_id::text as "jobId", count(*)::float8 as total from sluice.dead_letters
    where job_id = any(${jobIds as string[]}::bigint[]) group by job_id`;
  return new Map(rows.map((row) => [row.jobId, row.total]));
}

/** One dead letter by its key, or undefined. */
export async function findDeadLetter(
  sql: Sql,
  jobId: string,
  key: string,
): Promise<DeadLetter | undefined> {
  const [row] = await sql<DeadLetter[]>`
    select ${columns(sql)} from sluice.dead_letters where job_id = ${jobId} and item_key = ${key}`;
  return row;
}

/** Deletes a job's dead letters, or only the one with `key`. Returns how many went. */
export async function purgeDeadLetters(sql: Sql, jobId: string, key?: string): Promise<number> {
  const rows =
    key === undefined
      ? await sql`delete from sluice.dead_letters where job_id = ${jobId} returning id`
      : await sql`delete from sluice.dead_letters where job_id = ${jobId} and item_key = ${key} returning id`;
  return rows.length;
}

/**
 * `sluice dlq replay`: moves a job's dead letters into new chunk tasks, one per task that recorded
 * them, and reopens the job so a run processes them. A letter is replayed only while its failed
 * outcome is the item's latest state, in a finished task: a letter already queued again (by an
 * earlier replay, or `sluice retry`) is left alone, so replaying twice queues nothing twice. Its
 * outcome is marked superseded and no longer counts as failed, as `sluice retry --failed-only`
 * does. The rows themselves stay until the item succeeds. Returns the letters and tasks queued.
 */
export async function requeueDeadLetters(
  sql: Sql,
  jobId: string,
): Promise<{ letters: number; tasks: number }> {
  return sql.begin(async (tx) => {
    // Serialises replays of one job: the second sees the first's superseded outcomes.
    await lockJob(tx, jobId);
    const [row] = await tx<{ letters: number; tasks: number }[]>`
      with letters as (
        select d.id, d.task_seq, d.payload from sluice.dead_letters d
        join sluice.tasks t on t.job_id = d.job_id and t.seq = d.task_seq
        where d.job_id = ${jobId} and t.status in ('done', 'failed')
          and exists (select 1 from sluice.outcomes o
                      where o.job_id = d.job_id and o.task_seq = d.task_seq and o.item = d.payload
                        and not o.ok and not o.superseded)
      ), batches as (
        select task_seq, jsonb_agg(payload order by id) as payload, count(*) as items
        from letters group by task_seq
      ), numbered as (
        select b.*, (select max(seq) from sluice.tasks where job_id = ${jobId})
                    + row_number() over (order by b.task_seq) as seq
        from batches b
      ), added as (
        insert into sluice.tasks (job_id, seq, payload, items)
        select ${jobId}, seq, payload, items from numbered returning seq
      ), superseded as (
        update sluice.outcomes o set superseded = true from letters l
        where o.job_id = ${jobId} and o.task_seq = l.task_seq and o.item = l.payload
          and not o.ok and not o.superseded
        returning o.task_seq
      ), moved as (
        -- A chunk that failed whole is done once its items have moved to the new tasks.
        update sluice.tasks t set status = 'done',
          failed_items = greatest(0, coalesce(t.failed_items, t.items) - s.n)
        from (select task_seq, count(*) as n from superseded group by task_seq) s
        where t.job_id = ${jobId} and t.seq = s.task_seq
      )
      select (select count(*) from letters)::int as letters, (select count(*) from added)::int as tasks`;
    const queued = row ?? { letters: 0, tasks: 0 };
    if (queued.tasks > 0) await reopenJob(tx, jobId, queued.tasks);
    return queued;
  }) as Promise<{ letters: number; tasks: number }>;
}
