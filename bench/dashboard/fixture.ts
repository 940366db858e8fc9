// The dashboard bench's job: 1,000,000 tasks (BENCH_TASKS) of 10 items each, written with
// generate_series in a few statements. Its history spans two hours up to now: 80% of the tasks
// are done, 1% failed for good, 16 are running on 4 live processes, the rest are pending. The
// first chunks carry per-item outcomes (BENCH_OUTCOME_TASKS × 10, two in 50 failed), and the
// failed items of the first half of those are dead letters.
import type { Sql } from 'postgres';

export interface FixtureSize {
  tasks: number;
  /** Tasks, from the first, whose 10 items have outcomes. */
  outcomeTasks: number;
}

export interface Fixture {
  jobId: string;
  jobName: string;
  outcomes: number;
  failedOutcomes: number;
  deadLetters: number;
}

const historySeconds = 2 * 3600;

// Four kinds of message, each with numbers, a uuid or a hex id in it: four groups once masked.
const errorOf = (n: string, key: string) => `(case ${n} % 4
  when 0 then 'HTTP 503 from upstream for ' || ${key} || ' after ' || (${n} % 900 + 100) || ' ms'
  when 1 then 'row ' || ${n} || ' violates unique constraint orders_pkey'
  when 2 then 'timeout talking to shard ' || (${n} % 16) || ' (request ' || md5(${n}::text)::uuid || ')'
  else 'invalid token 0x' || to_hex(${n}::bigint * 7919 + 4096) end)`;

export async function createFixture(
  sql: Sql,
  size: FixtureSize,
  owners: readonly number[],
): Promise<Fixture> {
  const jobName = `bench-dashboard-${Date.now()}`;
  const done = Math.floor(size.tasks * 0.8);
  const failed = Math.floor(size.tasks * 0.01);
  const running = 16;
  const outcomeTasks = Math.min(size.outcomeTasks, done);
  const [job] = await sql<{ id: string }[]>`
    insert into sluice.jobs (name, status, source, fingerprint, max_parallelism, max_attempts,
                             total_tasks, total_items, created_at)
    values (${jobName}, 'running', 'chunks(bench)', 'bench', 16, 3, ${size.tasks},
            ${size.tasks * 10}, now() - make_interval(secs => ${historySeconds}))
    returning id::text`;
  const jobId = (job as { id: string }).id;
  // Finish times spread evenly over the history, in plan order.
  await sql.unsafe(
    `insert into sluice.tasks (job_id, seq, payload, items, status, attempts, epoch, owner,
                               lease_until, started_at, finished_at, report, ok_items,
                               failed_items, error, error_stack)
     select $1, g, jsonb_build_object('from', g * 10, 'to', g * 10 + 9), 10,
       case when g < $2::int then 'done' when g < $2::int + $3::int then 'failed'
            when g < $2::int + $3::int + $4::int then 'running' else 'pending' end,
       case when g < $2::int + $3::int + $4::int then 1 else 0 end,
       case when g < $2::int + $3::int + $4::int then 1 else 0 end,
       case when g >= $2::int + $3::int and g < $2::int + $3::int + $4::int then ($5::int[])[1 + g % cardinality($5::int[])] end,
       case when g >= $2::int + $3::int and g < $2::int + $3::int + $4::int then now() + interval '60 s' end,
       case when g < $2::int + $3::int + $4::int then f - interval '2 s' end,
       case when g < $2::int + $3::int then f end,
       case when g < $2::int then '{"ok": 10, "failed": 0}'::jsonb end,
       case when g < $2::int then 10 end, case when g < $2::int then 0 end,
       case when g >= $2::int and g < $2::int + $3::int then ${errorOf('g', "'task ' || g")} end,
       case when g >= $2::int and g < $2::int + $3::int then 'Error: failed' || chr(10) || '    at run (job.ts:' || g % 97 || ':5)' end
     from generate_series(0, $6::int - 1) g,
       lateral (select now() - make_interval(secs => $7::float8) +
                make_interval(secs => $7::float8 * least(g, $2::int + $3::int)::float8 / ($2::int + $3::int)) as f) t`,
    [jobId, done, failed, running, owners as number[], size.tasks, historySeconds],
  );
  // Per-item outcomes of the first chunks: item ids item-<n>, two in 50 failed.
  await sql.unsafe(
    `insert into sluice.outcomes (job_id, task_seq, idx, item, ok, value, error, attempt, created_at)
     select $1, t, i, jsonb_build_object('id', 'item-' || n), n % 50 not in (7, 22),
       case when n % 50 not in (7, 22) then jsonb_build_object('n', n) end,
       case when n % 50 in (7, 22) then ${errorOf('n', "'item-' || n")} end, 1,
       now() - make_interval(secs => $3::float8 * (1 - t::float8 / $4::float8))
     from generate_series(0, $2::int - 1) t, generate_series(0, 9) i, lateral (select t * 10 + i as n) x`,
    [jobId, outcomeTasks, historySeconds, done + failed],
  );
  await sql`
    update sluice.tasks t set ok_items = 10 - f.n, failed_items = f.n,
      report = jsonb_build_object('ok', 10 - f.n, 'failed', f.n)
    from (select task_seq, count(*) as n from sluice.outcomes
          where job_id = ${jobId} and not ok group by task_seq) f
    where t.job_id = ${jobId} and t.seq = f.task_seq`;
  await sql`
    insert into sluice.dead_letters (job_id, task_seq, item_key, payload, error, error_stack,
                                     attempts, first_failed_at, last_failed_at)
    select job_id, task_seq, item ->> 'id', item, error, 'Error: ' || error, 3, created_at, created_at
    from sluice.outcomes
    where job_id = ${jobId} and not ok and task_seq < ${Math.floor(outcomeTasks / 2)}`;
  const [counts] = await sql<{ outcomes: number; failed: number; letters: number }[]>`
    select (select count(*) from sluice.outcomes where job_id = ${jobId})::int as outcomes,
      (select count(*) from sluice.outcomes where job_id = ${jobId} and not ok)::int as failed,
      (select count(*) from sluice.dead_letters where job_id = ${jobId})::int as letters`;
  await sql`analyze sluice.jobs`;
  await sql`analyze sluice.tasks`;
  await sql`analyze sluice.outcomes`;
  await sql`analyze sluice.dead_letters`;
  return {
    jobId,
    jobName,
    outcomes: counts?.outcomes ?? 0,
    failedOutcomes: counts?.failed ?? 0,
    deadLetters: counts?.letters ?? 0,
  };
}
