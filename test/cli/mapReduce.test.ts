import { expect, test } from 'vitest';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
const job = 'test/fixtures/mapReduceJob.ts';
const args = () => ['run', job, '--database-url', db.url, '--json'];

interface Group {
  rows: number;
  sum: number;
  ranges: number[];
}

/** What the result must be: one GROUP BY over the whole table, and every range in plan order. */
async function truth(): Promise<Record<string, Omit<Group, 'ranges'>>> {
  const rows = await db.sql<{ grp: string; rows: number; sum: number }[]>`
    select grp, count(*)::int as rows, sum(v)::int as sum from facts group by grp`;
  return Object.fromEntries(rows.map((r) => [r.grp, { rows: r.rows, sum: r.sum }]));
}

const summaryOf = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) as string);
const ascending = (list: number[]) => list.every((n, i) => i === 0 || (list[i - 1] as number) < n);

async function finishOrder(name: string): Promise<number[]> {
  const rows = await db.sql<{ seq: number }[]>`
    select t.seq from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = ${name} order by t.finished_at, t.seq`;
  return rows.map((row) => row.seq);
}

test('with random delays at a cap of 4, two runs give the same result, folded in plan order with sorted keys', async () => {
  const env = { RANDOM_MS: '60' };
  const first = await runSluice(args(), { ...env, JOB_NAME: 'mr-a' });
  expect(first.code, first.stderr).toBe(0);
  const second = await runSluice(args(), { ...env, JOB_NAME: 'mr-b' });
  expect(second.code, second.stderr).toBe(0);

  const a = summaryOf(first.stdout);
  const b = summaryOf(second.stdout);
  expect(a).toMatchObject({ status: 'done', done: 3000, tasks: { total: 30, done: 30 } });
  // Identical down to the order of keys and of every list.
  expect(JSON.stringify(b.result)).toBe(JSON.stringify(a.result));
  const result = a.result as Record<string, Group>;
  const groups = Object.keys(result);
  expect(groups).toEqual([...groups].sort());
  const expected = await truth();
  expect(groups).toEqual(Object.keys(expected).sort());
  for (const [grp, group] of Object.entries(result)) {
    expect({ rows: group.rows, sum: group.sum }).toEqual(expected[grp]);
    expect(ascending(group.ranges)).toBe(true);
  }
  // Processes without the job's module show it the same way, though jsonb keeps `g10` before `g2`.
  const urls = ['--database-url', db.url, '--json'];
  const status = await runSluice(['status', 'mr-a', ...urls]);
  expect(JSON.stringify(JSON.parse(status.stdout).result)).toBe(JSON.stringify(a.result));
  const waited = await runSluice(['wait', 'mr-a', ...urls]);
  expect(waited.code, waited.stderr).toBe(0);
  expect(JSON.stringify(summaryOf(waited.stdout).result)).toBe(JSON.stringify(a.result));
  // The tasks really did finish out of plan order, in one run at least.
  const inPlanOrder = Array.from({ length: 30 }, (_, i) => i);
  const orders = [await finishOrder('mr-a'), await finishOrder('mr-b')];
  expect(orders.some((order) => JSON.stringify(order) !== JSON.stringify(inPlanOrder))).toBe(true);
});

test('partials are durable: after SIGKILL, a rerun does not map the finished ranges again', async () => {
  await db.sql`truncate map_calls`;
  const env = { JOB_NAME: 'mr-killed', SLEEP_MS: '150' };
  const victim = spawnSluice(args(), env);
  const victimDone = finished(victim);
  await waitFor(async () => {
    const [row] = await db.sql`select count(*)::int as n from sluice.tasks t
      join sluice.jobs j on j.id = t.job_id where j.name = 'mr-killed' and t.status = 'done'`;
    return (row?.n ?? 0) >= 8;
  });
  victim.kill('SIGKILL');
  expect((await victimDone).signal).toBe('SIGKILL');
  const doneBefore = (
    await db.sql<
      { seq: number }[]
    >`select t.seq from sluice.tasks t join sluice.jobs j on j.id = t.job_id
      where j.name = 'mr-killed' and t.status = 'done'`
  ).map((row) => row.seq);
  expect(doneBefore.length).toBeLessThan(30);

  const rerun = await finished(spawnSluice(args(), env));
  expect(rerun.code, rerun.stderr).toBe(0);
  const calls = await db.sql<{ seq: number; n: number }[]>`
    select seq, count(*)::int as n from map_calls group by seq order by seq`;
  const callsBySeq = new Map(calls.map((row) => [row.seq, row.n]));
  expect(callsBySeq.size).toBe(30);
  for (const seq of doneBefore) expect(callsBySeq.get(seq)).toBe(1);
  // Only maps in flight at the kill (at most the cap of 4) ran twice.
  const twice = calls.filter((row) => row.n > 1);
  expect(twice.length).toBeLessThanOrEqual(4);
  expect(twice.every((row) => row.n === 2)).toBe(true);

  const result = summaryOf(rerun.stdout).result as Record<string, Group>;
  const expected = await truth();
  for (const [grp, group] of Object.entries(result)) {
    expect({ rows: group.rows, sum: group.sum }).toEqual(expected[grp]);
    expect(ascending(group.ranges)).toBe(true);
  }
  // The same result as the uninterrupted runs of the first test.
  const [clean] = await db.sql`select result from sluice.jobs where name = 'mr-a'`;
  expect(result).toEqual(clean?.result);
});

test('chunks of items map to number keys; the result has them in numeric order', async () => {
  const run = await runSluice(args(), { JOB_NAME: 'mr-chunks', SOURCE: 'chunks' });
  expect(run.code, run.stderr).toBe(0);
  const summary = summaryOf(run.stdout);
  expect(summary).toMatchObject({ status: 'done', done: 200, failed: 0 });
  const counts = Array.from({ length: 12 }, (_, k) =>
    Array.from({ length: 200 }, (_, i) => i + 1).filter((n) => n % 12 === k),
  ).map((list) => list.length);
  expect(Object.keys(summary.result)).toEqual(counts.map((_, k) => String(k)));
  expect(Object.values(summary.result)).toEqual(counts);
});

test('a map that returns neither a Map nor an object fails its task at once, with a clear error', async () => {
  const run = await runSluice(args(), { JOB_NAME: 'mr-bad', BAD_MAP: '1', ROWS_PER_RANGE: '1000' });
  expect(run.code, run.stderr).toBe(3);
  expect(summaryOf(run.stdout)).toMatchObject({ status: 'failed', tasks: { total: 3, failed: 3 } });
  const tasks = await db.sql<{ attempts: number; error: string }[]>`
    select t.attempts, t.error from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = 'mr-bad'`;
  for (const task of tasks) {
    expect(task.attempts).toBe(1);
    expect(task.error).toBe(
      'Expected `run()` to be a Map or a plain object of key → partial (the job gives `combine`), got `[1,2,3]` (array)',
    );
  }
});

test('combine with each, or with reduce, is refused before anything is written', async () => {
  for (const bad of ['each', 'reduce']) {
    const run = await runSluice(args(), { JOB_NAME: `mr-refused-${bad}`, BAD: bad });
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      bad === 'each'
        ? /^sluice: Expected `combine` with `run`, which returns keyed partials/
        : /^sluice: Expected either `combine` .* or `initial`\/`reduce`, not both$/,
    );
  }
  const [jobs] =
    await db.sql`select count(*)::int as n from sluice.jobs where name like 'mr-refused-%'`;
  expect(jobs?.n).toBe(0);
});
