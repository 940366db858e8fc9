import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });

async function run(example: string, env: Record<string, string> = {}) {
  const result = await runSluice(['run', example, '--database-url', db.url, '--json'], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) as string);
}

test('examples/etl-pipeline.ts loads one fact per order that was not cancelled', async () => {
  const summary = await run('examples/etl-pipeline.ts');
  const [expected] = await db.sql<{ facts: number; cents: number }[]>`
    select count(*)::int as facts, sum(amount * 100)::float8 as cents
    from etl_orders where status <> 'cancelled'`;
  expect(summary).toMatchObject({ status: 'done', total: 100_000, done: 100_000 });
  expect(summary.result).toEqual(expected);
  const [loaded] = await db.sql<{ facts: number; cents: number }[]>`
    select count(*)::int as facts, sum(amount_cents)::float8 as cents from order_facts`;
  expect(loaded).toEqual(expected);
});

test('examples/fan-out.ts summarises every album once, from all its children', async () => {
  const summary = await run('examples/fan-out.ts');
  const [photos] = await db.sql<{ n: number }[]>`select count(*)::int as n from album_photos`;
  expect(summary.result).toMatchObject({ albums: 40, photos: photos?.n });
  const summaries = await db.sql<{ album: number; photos: number; caption: string }[]>`
    select s.album, s.photos, s.caption from album_summaries s order by album`;
  expect(summaries).toHaveLength(40);
  for (const s of summaries) {
    expect(s.photos).toBe(1 + (s.album % 6));
    expect(s.caption).toBe(`Album ${s.album}: ${s.photos} photo${s.photos === 1 ? '' : 's'}`);
  }
});

test('examples/micro-batch.ts writes every reading once, in batches of at most 100', async () => {
  const summary = await run('examples/micro-batch.ts', { READINGS: '600' });
  expect(summary).toMatchObject({ status: 'done', total: 600, done: 600, failed: 0 });
  const [readings] = await db.sql<{ n: number; first: number; last: number }[]>`
    select count(*)::int as n, min(seq)::int as first, max(seq)::int as last from sensor_readings`;
  expect(readings).toEqual({ n: 600, first: 1, last: 600 });
  const sizes = await db.sql<{ items: number }[]>`
    select t.items::int from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = 'micro-batch'`;
  expect(sizes.length).toBeGreaterThanOrEqual(6);
  expect(sizes.every((s) => s.items >= 1 && s.items <= 100)).toBe(true);
});
