import postgres from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { createTestDatabase, useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
let state: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  state = await createTestDatabase();
  await db.sql`create table items (id bigint primary key)`;
  await db.sql`insert into items select g * 3 from generate_series(1, 200) g`;
  await db.sql`create table visits (id bigint not null, attempt int not null)`;
});

afterAll(async () => {
  await state.drop();
});

test('a retried range resumes after its last checkpoint, not from its start', async () => {
  const run = await runSluice(
    ['run', 'test/fixtures/checkpointJob.ts', '--database-url', db.url, '--json'],
    {
      CRASH_AFTER_STEPS: '2',
    },
  );
  expect(run.code, run.stderr).toBe(0);
  // Every row visited exactly once, though every range crashed half-way through its first try.
  const [visits] =
    await db.sql`select count(*)::int as n, count(distinct id)::int as ids from visits`;
  expect(visits).toEqual({ n: 200, ids: 200 });
  const byAttempt =
    await db.sql`select attempt, count(*)::int as n from visits group by attempt order by attempt`;
  expect(byAttempt).toEqual([
    { attempt: 1, n: 80 },
    { attempt: 2, n: 120 },
  ]);
});

test('--state-url keeps the job state in another database', async () => {
  await db.sql`truncate visits`;
  const run = await runSluice([
    'run',
    'test/fixtures/checkpointJob.ts',
    '--database-url',
    db.url,
    '--state-url',
    state.url,
    '--json',
  ]);
  expect(run.code, run.stderr).toBe(0);
  const stateSql = postgres(state.url, { max: 1 });
  const [job] =
    await stateSql`select status, total_items::int as items from sluice.jobs where name = 'checkpointed'`;
  await stateSql.end();
  expect(job).toEqual({ status: 'done', items: 200 });
  // The source database still has only the state of the first test, which ran without --state-url.
  const [jobs] = await db.sql`select count(*)::int as n from sluice.jobs`;
  expect(jobs?.n).toBe(1);
});
