import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });

async function smoke(example: string) {
  const run = await runSluice(['run', example, '--smoke', '--json', '--database-url', db.url]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { input: unknown; report: Record<string, unknown> };
}

async function jobsRecorded(): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`
    select case when to_regclass('sluice.jobs') is null then 0
      else (select count(*)::int from sluice.jobs) end as n`;
  return row?.n ?? 0;
}

test('--smoke takes a pipeline batch through every stage and records no task', async () => {
  const result = await smoke('examples/etl-pipeline.ts');
  const { start, end } = result.input as { start: string; end: string };
  const [truth] = await db.sql<{ facts: number; cents: number }[]>`
    select count(*)::int as facts, sum(round(amount * 100))::float8 as cents from etl_orders
    where id between ${start} and ${end} and status <> 'cancelled'`;
  expect(result.report).toEqual(truth);
  expect(await jobsRecorded()).toBe(0);
});

test('--smoke runs a fan-out parent, its children and its fan-in', async () => {
  const result = await smoke('examples/fan-out.ts');
  const [truth] = await db.sql<{ photos: number }[]>`
    select count(*)::int as photos from album_photos where album = 1`;
  expect(result.report).toMatchObject({ photos: truth?.photos });
  expect(await jobsRecorded()).toBe(0);
});

test('--smoke shows a MapReduce task its keyed partials, not an empty object', async () => {
  const result = await smoke('examples/word-count.ts');
  expect(Object.keys(result.report).length).toBeGreaterThan(0);
  expect(Object.values(result.report).every((n) => typeof n === 'number' && n > 0)).toBe(true);
});

test('--smoke checks what fanOut returns as a real run does: a child no handler takes fails it, exit 3', async () => {
  const run = await runSluice(
    ['run', 'test/fixtures/fanOutJob.ts', '--smoke', '--database-url', db.url],
    { BAD_KIND: 'resize' },
  );
  expect(run.code).toBe(3);
  expect(run.stderr.split('\n')[0]).toBe(
    'sluice: smoke test failed: PermanentError: Expected `fanOut()[0].kind` to be one of the job\'s handlers (square, label, negate), got `"resize"` (string)',
  );
  expect(await jobsRecorded()).toBe(0);
});

test('--smoke fails, exit 3, when items of the first chunk failed', async () => {
  const run = await runSluice(
    ['run', 'test/fixtures/secretJob.ts', '--smoke', '--database-url', db.url],
    { MODE: 'each' },
  );
  expect(run.code, run.stderr).toBe(3);
  expect(run.stdout).toMatch(
    /Smoke test failed in [\d.]+s: 1 of 2 items failed \(first: cannot reach postgres:\/\/app:\*\*\*@db\.internal:5432\/shop\); nothing was recorded/,
  );
  expect(await jobsRecorded()).toBe(0);
});
