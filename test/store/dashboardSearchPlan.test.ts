import postgres from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { dashboardQueries } from '../../src/store/dashboard/index.ts';
import { Store } from '../../src/store/index.ts';
import { useTestDatabase } from '../support/db.ts';

// Enough outcomes that the planner prefers an index to a scan, once analyzed: 200,000 items, one
// in 20 failed, and a dead letter for each failure.
const db = useTestDatabase({ max: 2 });
let store: Store;
let traced: postgres.Sql;
let jobId: string;
const statements: { query: string; params: unknown[] }[] = [];

beforeAll(async () => {
  store = await Store.open(db.url);
  traced = postgres(db.url, {
    max: 1,
    onnotice: () => {},
    debug: (_connection, query, params) => statements.push({ query, params: [...params] }),
  });
  const [job] = await db.sql<{ id: string }[]>`
    insert into sluice.jobs (name, status, source, fingerprint, max_parallelism, max_attempts)
    values ('plans', 'running', 'test', 'f', 4, 3) returning id::text`;
  jobId = (job as { id: string }).id;
  await db.sql`
    insert into sluice.tasks (job_id, seq, payload, items, status, finished_at, error)
    select ${jobId}, g, '[]', 100, case when g % 50 = 0 then 'failed' else 'done' end,
      now() - (g || ' s')::interval, case when g % 50 = 0 then 'boom ' || g end
    from generate_series(0, 1999) g`;
  await db.sql`
    insert into sluice.outcomes (job_id, task_seq, idx, item, ok, error, attempt)
    select ${jobId}, g / 100, g % 100, jsonb_build_object('id', 'item-' || g), g % 20 <> 0,
      case when g % 20 = 0 then 'connection refused by shard ' || g % 7 end, 1
    from generate_series(0, 199999) g`;
  await db.sql`
    insert into sluice.dead_letters (job_id, task_seq, item_key, payload, error, attempts)
    select job_id, task_seq, item ->> 'id', item, error, 3 from sluice.outcomes
    where job_id = ${jobId} and not ok`;
  await db.sql`analyze sluice.tasks`;
  await db.sql`analyze sluice.outcomes`;
  await db.sql`analyze sluice.dead_letters`;
});

afterAll(async () => {
  await traced.end();
  await store.close();
});

/** Runs a dashboard read on the traced pool and returns the plan of each statement it sent. */
async function plansOf(read: (q: ReturnType<typeof dashboardQueries>) => Promise<unknown>) {
  statements.length = 0;
  await read(dashboardQueries(traced));
  const plans: string[] = [];
  // Only the dashboard's own: postgres.js also asks the server about array types on connecting.
  for (const { query, params } of statements.filter((s) => s.query.includes('sluice.'))) {
    const rows = await db.sql.unsafe(
      `explain ${query}`,
      params as postgres.ParameterOrJSON<never>[],
    );
    plans.push(rows.map((r) => r['QUERY PLAN']).join('\n'));
  }
  return plans;
}

test('a search by key prefix is a range scan of the key indexes', async () => {
  const [outcomes, letters] = await plansOf(async (q) => {
    const found = await q.search(jobId, { key: 'item-19999' });
    const keys = ['item-19999', ...Array.from({ length: 10 }, (_, i) => `item-19999${i}`)];
    expect(found.outcomes.map((o) => o.key)).toEqual(keys);
  });
  expect(outcomes).toContain('outcomes_item_key');
  expect(outcomes).not.toContain('Seq Scan');
  expect(letters).toContain('dead_letters_item_key');
  expect(letters).not.toContain('Seq Scan');
});

test('a search by exact key uses the same indexes', async () => {
  const [outcomes, letters] = await plansOf(async (q) => {
    const found = await q.search(jobId, { key: 'item-100', exact: true });
    expect(found.deadLetters.map((d) => d.key)).toEqual(['item-100']);
  });
  expect(outcomes).toContain('outcomes_item_key');
  expect(letters).toContain('dead_letters_item_key');
});

test('a search by error words goes through the GIN indexes', async () => {
  const [outcomes, letters] = await plansOf(async (q) => {
    const found = await q.search(jobId, { text: 'shard 3', limit: 5 });
    expect(found.outcomes).toHaveLength(5);
    for (const hit of found.outcomes) expect(hit.error).toMatch(/shard 3$/);
  });
  expect(outcomes).toContain('outcomes_error_text');
  expect(letters).toContain('dead_letters_error_text');
});

test('failed tasks and failure groups read their partial indexes', async () => {
  const [failed] = await plansOf((q) => q.failedTasks(jobId, { limit: 10 }));
  expect(failed).toContain('tasks_failed');
  const [groups] = await plansOf(async (q) => {
    const found = await q.failureGroups(jobId);
    expect(found.map((g) => [g.pattern, g.count])).toEqual([
      ['connection refused by shard <n>', 10_000],
      ['boom <n>', 40],
    ]);
  });
  expect(groups).toContain('outcomes_error_pattern');
  expect(groups).toContain('tasks_failed');
});
