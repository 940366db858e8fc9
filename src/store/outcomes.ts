import type { Sql } from 'postgres';
import type { Outcome } from '../job/outcome.ts';
import { toJsonText } from './json.ts';
import type { Claim } from './outcome.ts';

/**
 * Columns of a batch of outcomes, for one `unnest` insert. All travel as text arrays: postgres.js
 * cannot send boolean arrays, nor infer a type for an array that starts with null.
 */
function columns(outcomes: readonly Outcome[]) {
  return {
    items: outcomes.map((o) => toJsonText(o.item)),
    oks: outcomes.map((o) => (o.ok ? 't' : 'f')),
    values: outcomes.map((o) => (o.ok && o.value !== undefined ? toJsonText(o.value) : null)),
    statuses: outcomes.map((o) => (o.ok || o.status === undefined ? null : String(o.status))),
    errors: outcomes.map((o) => (o.ok ? null : o.error)),
  };
}

/**
 * Finishes a chunk task with its per-item outcomes, in one statement: the task is done and its
 * outcomes are recorded together, or (stale claim) neither happens. Outcomes of an earlier run of
 * the same chunk are replaced. `failed` fails the whole chunk, for a chunk that threw.
 */
export async function recordChunk(
  sql: Sql,
  claim: Claim,
  attempt: number,
  outcomes: readonly Outcome[],
  failure?: Error,
): Promise<boolean> {
  const c = columns(outcomes);
  const okCount = outcomes.filter((o) => o.ok).length;
  const rows = await sql`
    with finished as (
      update sluice.tasks set
        status = ${failure ? 'failed' : 'done'},
        report = ${toJsonText({ ok: okCount, failed: outcomes.length - okCount })}::text::jsonb,
        ok_items = ${okCount}, failed_items = ${outcomes.length - okCount},
        error = ${failure?.message ?? null}, error_stack = ${failure?.stack ?? null},
        owner = null, lease_until = null, finished_at = now()
      where job_id = ${claim.jobId} and seq = ${claim.seq} and epoch = ${claim.epoch} and status = 'running'
      returning job_id, seq
    ), extra as (
      delete from sluice.outcomes o using finished f
      where o.job_id = f.job_id and o.task_seq = f.seq and o.idx >= ${outcomes.length}
    ), written as (
      insert into sluice.outcomes as o (job_id, task_seq, idx, item, ok, value, status, error, attempt)
      select f.job_id, f.seq, u.ord - 1, u.item::jsonb, u.ok, u.value::jsonb, u.status, u.error, ${attempt}
      from finished f, unnest(${c.items}::text[], ${c.oks}::text[]::bool[], ${c.values}::text[],
                              ${c.statuses}::text[]::int[], ${c.errors}::text[]) with ordinality as u(item, ok, value, status, error, ord)
      on conflict (job_id, task_seq, idx) do update set item = excluded.item, ok = excluded.ok,
        value = excluded.value, status = excluded.status, error = excluded.error,
        attempt = excluded.attempt, superseded = false, created_at = now()
    )
    select seq from finished`;
  return rows.length > 0;
}

/**
 * `sluice retry --failed-only`: moves the failed items of finished chunks into new tasks, one per
 * chunk, so exactly those items run again. Their old outcomes stay, marked superseded, and the
 * old chunk no longer counts them as failed. Returns the number of tasks added.
 */
export async function requeueFailedItems(sql: Sql, jobId: string): Promise<number> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ added: number }[]>`
      with failed as (
        select o.task_seq, jsonb_agg(o.item order by o.idx) as payload, count(*) as items
        from sluice.outcomes o join sluice.tasks t on t.job_id = o.job_id and t.seq = o.task_seq
        where o.job_id = ${jobId} and not o.ok and not o.superseded and t.status = 'done'
        group by o.task_seq
      ), numbered as (
        select f.*, (select max(seq) from sluice.tasks where job_id = ${jobId})
                    + row_number() over (order by f.task_seq) as seq
        from failed f
      ), added as (
        insert into sluice.tasks (job_id, seq, payload, items)
        select ${jobId}, seq, payload, items from numbered returning seq
      ), superseded as (
        update sluice.outcomes o set superseded = true from numbered n
        where o.job_id = ${jobId} and o.task_seq = n.task_seq and not o.ok and not o.superseded
      ), moved as (
        update sluice.tasks t set failed_items = 0 from numbered n where t.job_id = ${jobId} and t.seq = n.task_seq
      )
      select count(*)::int as added from added`;
    const added = row?.added ?? 0;
    if (added > 0) {
      await tx`
        update sluice.jobs set total_tasks = total_tasks + ${added}, status = 'running',
          finished_at = null, updated_at = now()
        where id = ${jobId}`;
    }
    return added;
  }) as Promise<number>;
}
