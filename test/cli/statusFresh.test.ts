// `sluice status` only reads: on a database sluice never ran on it says there are no jobs and
// leaves the database as it found it, with no schema `sluice`.
import { expect, test } from 'vitest';
import { runInTerminal, screenOf } from '../observe/terminal.ts';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase();

const schemas = async () =>
  (
    await db.sql<
      { n: number }[]
    >`select count(*)::int as n from pg_namespace where nspname = 'sluice'`
  )[0]?.n;

test('status on a fresh database says there are no jobs and creates nothing', async () => {
  const text = await runSluice(['status', '--database-url', db.url]);
  expect(text.code, text.stderr).toBe(0);
  expect(text.stdout).toBe('No jobs yet; start one with `sluice run <job.ts>`\n');
  const json = await runSluice(['status', '--json'], { DATABASE_URL: db.url });
  expect(json.code, json.stderr).toBe(0);
  expect(JSON.parse(json.stdout)).toEqual({ jobs: [] });
  const one = await runSluice(['status', 'backfill', '--database-url', db.url]);
  expect(one.code).toBe(2);
  expect(one.stderr).toBe('sluice: No job named `backfill`; `sluice status` lists them\n');
  expect(await schemas()).toBe(0);
  const [tables] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')`;
  expect(tables?.n).toBe(0);
});

test('once a job has run, status reads it as before', async () => {
  const run = await runSluice(['run', 'test/fixtures/tracedJob.ts', '--detach'], {
    DATABASE_URL: db.url,
    JOB_NAME: 'listed',
    ROWS: '20',
  });
  expect(run.code, run.stderr).toBe(0);
  expect(await schemas()).toBe(1);
  const status = await runSluice(['status', '--json', '--database-url', db.url]);
  expect(status.code, status.stderr).toBe(0);
  expect(JSON.parse(status.stdout).jobs).toMatchObject([
    { job: 'listed', status: 'running', tasks: { total: 2, done: 0 } },
  ]);
});

test.concurrent.each([40, 80, 120])(
  'status --watch redraws one table that fits %i columns',
  async (columns) => {
    const run = runInTerminal(['status', '--watch', '--database-url', db.url], columns, {}, 6);
    await run.exited;
    const bytes = run.output();
    // Redrawn at least once, each time in place of the last.
    expect(bytes.match(/Every 1s, /g)?.length ?? 0).toBeGreaterThanOrEqual(2);
    const screen = await screenOf(bytes, columns);
    expect(screen.filter((row) => row.startsWith('Every 1s, '))).toHaveLength(1);
    const table = screen.slice(screen.findIndex((row) => row.startsWith('JOB ')));
    expect(table[0]).toMatch(/^JOB +STATUS +PROGRESS/);
    expect(table[1]).toMatch(/^listed +running +0\/20 0%/);
    for (const row of screen) expect(row.length).toBeLessThanOrEqual(columns);
    if (columns >= 80) expect(table[0]).toMatch(/FAILED +DEAD +RATE\/S +ETA/);
  },
);
