import { expect, test } from 'vitest';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 2 });

const args = () => ['run', 'test/fixtures/microBatchJob.ts', '--database-url', db.url, '--json'];

/** The batches appended for a job: their item numbers and when their first item was produced. */
async function batches(job: string) {
  return db.sql<{ seq: number; ns: number[]; firstAt: number }[]>`
    select t.seq, array_agg((x->>'n')::int order by ord) as ns,
      (array_agg((x->>'at')::float8 order by ord))[1] as "firstAt"
    from sluice.tasks t join sluice.jobs j on j.id = t.job_id,
      jsonb_array_elements(t.payload) with ordinality as e(x, ord)
    where j.name = ${job} group by t.seq order by t.seq`;
}

/** Item numbers with a successful outcome, once per outcome. */
async function succeeded(job: string): Promise<number[]> {
  const rows = await db.sql<{ n: number }[]>`
    select (o.item->>'n')::int as n from sluice.outcomes o join sluice.jobs j on j.id = o.job_id
    where j.name = ${job} and o.ok order by 1`;
  return rows.map((r) => r.n);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test('a fast stream closes batches at maxItems; every item is processed once', async () => {
  const env = { JOB_NAME: 'fast', N: '500', MAX_ITEMS: '50', MAX_WAIT_MS: '500' };
  const run = await runSluice(args(), env);
  expect(run.code, run.stderr).toBe(0);
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
  expect(summary).toMatchObject({ status: 'done', total: 500, done: 500, failed: 0 });
  const appended = await batches('fast');
  expect(appended.map((b) => b.ns.length)).toEqual(Array(10).fill(50));
  expect(appended.flatMap((b) => b.ns)).toEqual(range(500));
  expect(await succeeded('fast')).toEqual(range(500));
});

test('a slow stream closes batches maxWaitMs after their first item', async () => {
  // One item every 10 ms, windows of 50 ms, room for 1000: only the window can close a batch.
  const env = {
    JOB_NAME: 'slow',
    N: '80',
    INTERVAL_MS: '10',
    MAX_ITEMS: '1000',
    MAX_WAIT_MS: '50',
  };
  const run = await runSluice(args(), env);
  expect(run.code, run.stderr).toBe(0);
  const appended = await batches('slow');
  expect(appended.flatMap((b) => b.ns)).toEqual(range(80));
  // Checked in the stream's own steps, not in wall-clock spans that a busy machine stretches. The
  // stream makes an item only when asked, 10 ms after the last one was taken, and timers fire in
  // order: so the window, not maxItems, closes a batch, which takes its first item and at most
  // one per 10 ms of the 50 after it (80 items make at least 14 batches). A stalled process
  // takes fewer.
  expect(Math.max(...appended.map((b) => b.ns.length))).toBeLessThanOrEqual(50 / 10 + 1);
  // Nor does a window close early: the next batch's first item is made after it closed, so at
  // least 50 ms after this batch's first (less 2 ms for whole-millisecond clocks and timers).
  const firsts = appended.map((b) => b.firstAt);
  const gaps = firsts.slice(1).map((at, i) => at - (firsts[i] as number));
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(50 - 2);
  expect(await succeeded('slow')).toEqual(range(80));
});

test('SIGKILL mid-stream, then run again: the stream resumes after the last appended batch', async () => {
  await db.sql`drop table if exists seen`;
  const env = {
    JOB_NAME: 'killed',
    N: '300',
    INTERVAL_MS: '10',
    MAX_ITEMS: '20',
    MAX_WAIT_MS: '100',
  };
  const victim = spawnSluice(args(), env);
  const victimDone = finished(victim);
  await waitFor(async () => {
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from seen`.catch(() => [{ n: 0 }]);
    return (row?.n ?? 0) >= 60;
  });
  victim.kill('SIGKILL');
  expect((await victimDone).signal).toBe('SIGKILL');
  const [job] = await db.sql<{ open: boolean; position: string }[]>`
    select open, feed_position as position from sluice.jobs where name = 'killed'`;
  expect(job?.open).toBe(true);
  expect(Number(job?.position)).toBeLessThan(300);

  const rerun = await runSluice(args(), env);
  expect(rerun.code, rerun.stderr).toBe(0);
  const summary = JSON.parse(rerun.stdout.trim().split('\n').at(-1) as string);
  expect(summary).toMatchObject({ status: 'done', total: 300, done: 300, failed: 0 });
  // Every item was appended exactly once, and has exactly one outcome.
  expect((await batches('killed')).flatMap((b) => b.ns)).toEqual(range(300));
  expect(await succeeded('killed')).toEqual(range(300));
  const [seen] = await db.sql<{ n: number }[]>`select count(distinct n)::int as n from seen`;
  expect(seen?.n).toBe(300);
});

test('two processes on one stream: one reads it, both work, nothing is read twice', async () => {
  const env = {
    JOB_NAME: 'shared',
    N: '200',
    INTERVAL_MS: '5',
    MAX_ITEMS: '10',
    MAX_WAIT_MS: '100',
    ITEM_MS: '5',
  };
  const [a, b] = await Promise.all([runSluice(args(), env), runSluice(args(), env)]);
  expect(a.code, a.stderr).toBe(0);
  expect(b.code, b.stderr).toBe(0);
  expect((await batches('shared')).flatMap((batch) => batch.ns)).toEqual(range(200));
  expect(await succeeded('shared')).toEqual(range(200));
});

test('a window below 1 ms is refused before anything is written', async () => {
  await db.sql`drop schema if exists sluice cascade`;
  const run = await runSluice(args(), { JOB_NAME: 'bad', MAX_WAIT_MS: '0' });
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr.trim()).toBe(
    'sluice: Expected `maxWaitMs` to be a whole number >= 1, got `0` (number)',
  );
  const [found] = await db.sql`select to_regclass('sluice.jobs') as t`;
  expect(found?.t).toBeNull();
});
