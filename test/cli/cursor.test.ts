import { beforeAll, describe, expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
const job = 'test/fixtures/cursorJob.ts';

beforeAll(async () => {
  // As the fixture's prepare creates it, so that a test can fill it before the first run.
  await db.sql`create table poison (id bigint primary key)`;
  // Tables for the refusals; `docs` itself is created by the job's prepare.
  await db.sql`create table loose (id bigint primary key, updated_at timestamptz not null)`;
  await db.sql`create table reversed (id bigint primary key, updated_at timestamptz not null)`;
  await db.sql`create index on reversed (id, updated_at)`;
  await db.sql`create table hashed (code text not null)`;
  await db.sql`create index on hashed using hash (code)`;
  await db.sql`create table nullable (id bigint, note text)`;
  await db.sql`create unique index on nullable (id)`;
  await db.sql`insert into nullable values (1, 'a'), (null, 'b')`;
  await db.sql`create table repeated (updated_at timestamptz not null)`;
  await db.sql`create index on repeated (updated_at)`;
});

/** Empties the fixture's tables, which its `prepare` creates on a first run. */
async function truncate(...tables: string[]) {
  for (const table of tables) {
    const [found] = await db.sql`select to_regclass(${table}) as t`;
    if (found?.t) await db.sql`truncate ${db.sql(table)}`;
  }
}

async function jobRows(): Promise<number> {
  const [found] = await db.sql`select to_regclass('sluice.jobs') as t`;
  if (!found?.t) return 0;
  const [row] = await db.sql`select count(*)::int as n from sluice.jobs`;
  return row?.n ?? 0;
}

test('a cursor job processes every row once, in chunks of exactly BATCH rows but the last', async () => {
  const env = { JOB_NAME: 'pages', ROWS: '1000', BATCH: '64', WHERE_BODY: 'doc 500' };
  const run = await runSluice(['run', job, '--database-url', db.url, '--json'], env);
  expect(run.code, run.stderr).toBe(0);
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
  expect(summary).toMatchObject({ status: 'done', total: 999, done: 999, failed: 0, unit: 'rows' });
  expect(summary.tasks).toMatchObject({ total: 16, done: 16 });

  const perChunk = await db.sql<{ seq: number; n: number }[]>`
    select seq, count(*)::int as n from visits group by seq order by seq`;
  expect(perChunk.map((c) => c.n)).toEqual([...Array(15).fill(64), 999 - 15 * 64]);
  const [once] = await db.sql`
    select count(*)::int as n, count(distinct id)::int as ids,
      (select count(*)::int from processed) as processed from visits`;
  expect(once).toEqual({ n: 999, ids: 999, processed: 999 });
  // Chunks are contiguous in (updated_at, id) order: chunk k holds ranks 64k+1 ... 64(k+1).
  const [misplaced] = await db.sql`
    select count(*)::int as n from (
      select v.seq, row_number() over (order by d.updated_at, d.id) - 1 as rank
      from visits v join docs d on d.id = v.id) r
    where r.seq <> r.rank / 64`;
  expect(misplaced?.n).toBe(0);
  expect(await db.sql`select 1 from visits where id = 500`).toHaveLength(0);
});

test('retry --failed-only re-runs exactly the failed rows, from the stored rows', async () => {
  const env = { JOB_NAME: 'poisoned', ROWS: '1000', BATCH: '100' };
  await truncate('visits', 'processed');
  await db.sql`insert into poison values (3), (250), (999)`;
  const run = await runSluice(['run', job, '--database-url', db.url, '--json'], env);
  expect(run.code, run.stderr).toBe(3);
  const failures = run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .filter((line) => line.ok === false);
  expect(failures.map((f) => f.item.id).sort()).toEqual(['250', '3', '999']);
  expect(failures[0].error).toMatch(/doc \d+ is poisoned/);

  await truncate('poison', 'visits');
  const retry = await runSluice(
    ['retry', job, '--failed-only', '--database-url', db.url, '--json'],
    env,
  );
  expect(retry.code, retry.stderr).toBe(0);
  const summary = JSON.parse(retry.stdout.trim().split('\n').at(-1) as string);
  expect(summary).toMatchObject({ status: 'done', total: 1000, done: 1000, failed: 0 });
  const visited = await db.sql`select id::int from visits order by id`;
  expect(visited.map((row) => row.id)).toEqual([3, 250, 999]);
  const [processed] = await db.sql`select count(*)::int as n from processed`;
  expect(processed?.n).toBe(1000);
});

test('each(row) gets the rows of every chunk one by one', async () => {
  await truncate('visits');
  const env = { JOB_NAME: 'per-row', EACH: '1', ROWS: '1000', BATCH: '300' };
  const run = await runSluice(['run', job, '--database-url', db.url, '--json'], env);
  expect(run.code, run.stderr).toBe(0);
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
  expect(summary).toMatchObject({ status: 'done', total: 1000, done: 1000, failed: 0 });
  const perChunk = await db.sql`
    select seq, count(*)::int as n, count(distinct id)::int as ids from visits group by seq order by seq`;
  expect(perChunk.map((c) => [c.n, c.ids])).toEqual([
    [300, 300],
    [300, 300],
    [300, 300],
    [100, 100],
  ]);
});

test('--smoke runs the first chunk on its rows and records nothing', async () => {
  await truncate('visits');
  const env = { JOB_NAME: 'smoked', ROWS: '1000', BATCH: '5' };
  const run = await runSluice(['run', job, '--smoke', '--json', '--database-url', db.url], env);
  expect(run.code, run.stderr).toBe(0);
  const smoke = JSON.parse(run.stdout);
  const [first] =
    await db.sql`select id::text from docs d order by d.updated_at, d.id limit 5`.then((rows) => [
      rows.map((row) => row.id),
    ]);
  expect(smoke.input.map((row: { id: string }) => row.id)).toEqual(first);
  expect(smoke.report).toHaveLength(5);
  expect(smoke.report.every((o: { ok: boolean }) => o.ok)).toBe(true);
  expect(await db.sql`select 1 from sluice.jobs where name = 'smoked'`).toHaveLength(0);
});

describe('refusals: exit 2, one line, no job row', () => {
  const cases: [string, Record<string, string>, string | RegExp][] = [
    [
      'an unknown table',
      { TABLE: 'nope' },
      'cursor(nope.(updated_at, id)): table `nope` does not exist',
    ],
    [
      'an unknown key column',
      { TABLE: 'loose', KEY: 'updated_at,nope' },
      'column `nope` does not exist in table `loose`',
    ],
    [
      'a compound key without an index',
      { TABLE: 'loose' },
      'create one with `create index on "loose" ("updated_at", "id")`',
    ],
    [
      'a compound key whose index has the columns in another order',
      { TABLE: 'reversed' },
      'create one with `create index on "reversed" ("updated_at", "id")`',
    ],
    [
      'a single key with only a hash index',
      { TABLE: 'hashed', KEY: 'code' },
      'key column "code" needs a btree index that starts with it; create one with `create index on "hashed" ("code")`',
    ],
    [
      'a key no unique index covers',
      { TABLE: 'repeated', KEY: 'updated_at' },
      /no unique index or primary key covers \("updated_at"\)/,
    ],
    ['a nullable key with NULLs', { TABLE: 'nullable', KEY: 'id' }, 'key column "id" has NULLs'],
    [
      'a where naming a column the table lacks',
      { TABLE: 'loose', KEY: 'id', WHERE_BODY: 'x' },
      'sluice: The `where` of cursor(loose.id) failed: column "body" does not exist',
    ],
    [
      'batchSize 0',
      { BATCH: '0' },
      'Expected `batchSize` to be a whole number >= 1, got `0` (number)',
    ],
    [
      'batchSize 2.5',
      { BATCH: '2.5' },
      'Expected `batchSize` to be a whole number >= 1, got `2.5` (number)',
    ],
  ];
  for (const [name, env, message] of cases) {
    test(name, async () => {
      const before = await jobRows();
      const run = await runSluice(['run', job, '--database-url', db.url], {
        JOB_NAME: `refused-${name.replaceAll(' ', '-')}`,
        ...env,
      });
      expect(run.code, run.stderr).toBe(2);
      const lines = run.stderr.trim().split('\n');
      expect(lines, run.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^sluice: /);
      if (typeof message === 'string') expect(lines[0]).toContain(message);
      else expect(lines[0]).toMatch(message);
      expect(run.stdout).toBe('');
      expect(await jobRows()).toBe(before);
    });
  }
});
