import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 2 });

test('the orders report equals the single GROUP BY over the whole table', async () => {
  const run = await runSluice([
    'run',
    'examples/orders-report.ts',
    '--database-url',
    db.url,
    '--json',
  ]);
  expect(run.stderr).not.toContain('internal error');
  expect(run.code).toBe(0);
  const lines = run.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  const summary = JSON.parse(lines[0] as string);
  expect(summary).toMatchObject({
    job: 'orders-report',
    status: 'done',
    total: 1_000_000,
    done: 1_000_000,
    failed: 0,
  });
  expect(summary.tasks).toEqual({ total: 40, done: 40, failed: 0 });
  expect(summary.elapsedMs).toBeGreaterThan(0);

  const truth = await db.sql<{ status: string; orders: number; amount: string }[]>`
    select status, count(*)::int as orders, sum(amount)::text as amount from orders group by status`;
  expect(Object.keys(summary.result).sort()).toEqual(truth.map((row) => row.status).sort());
  for (const row of truth)
    expect(summary.result[row.status]).toEqual({ orders: row.orders, amount: row.amount });

  // The gaps are real: the key span is far wider than the row count.
  const [span] = await db.sql`select max(id) - min(id) as width, count(*)::int as n from orders`;
  expect(BigInt(span?.width)).toBeGreaterThan(1_000_000_000_000n);
});

test('a finished job is reported, not run again, unless --rerun', async () => {
  const again = await runSluice(['run', 'examples/orders-report.ts', '--database-url', db.url]);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain('already finished');
  expect(again.stdout).toMatch(
    /Batch complete: 1000000\/1000000 items, 0 failed \(0\.0%\), \d+\.\ds, \d+ items\/sec/,
  );
  const [before] = await db.sql`select created_at from sluice.jobs where name = 'orders-report'`;

  const rerun = await runSluice([
    'run',
    'examples/orders-report.ts',
    '--database-url',
    db.url,
    '--rerun',
    '--json',
  ]);
  expect(rerun.code).toBe(0);
  expect(JSON.parse(rerun.stdout).alreadyFinished).toBe(false);
  const [after] = await db.sql`select created_at from sluice.jobs where name = 'orders-report'`;
  expect(after?.created_at.getTime()).toBeGreaterThan(before?.created_at.getTime());
});

test('--smoke runs the first range only and records nothing', async () => {
  const smoke = await runSluice([
    'run',
    'examples/orders-report.ts',
    '--database-url',
    db.url,
    '--smoke',
    '--json',
  ]);
  expect(smoke.code).toBe(0);
  const out = JSON.parse(smoke.stdout);
  expect(out.input).toMatchObject({ start: '1', rows: 25_000 });
  const orders = out.report.reduce((n: number, row: { orders: number }) => n + row.orders, 0);
  expect(orders).toBe(25_000);
  const [jobs] =
    await db.sql`select count(*)::int as n from sluice.jobs where name = 'orders-report'`;
  expect(jobs?.n).toBe(1); // still just the job from the earlier tests
});
