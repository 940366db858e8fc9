import { afterAll, beforeAll, expect, test } from 'vitest';
import { finished, runSluice, spawnSluice } from '../support/cli.ts';
import { tracedDatabase } from '../support/traced.ts';

let db: Awaited<ReturnType<typeof tracedDatabase>>;
beforeAll(async () => {
  db = await tracedDatabase();
});
afterAll(() => db.close());

const env = {
  JOB_NAME: 'poisoned',
  CAP: '3',
  ROWS: '300',
  ROWS_PER_RANGE: '10',
  BASE_MS: '100',
  ATTEMPTS: '3',
};
const job = 'test/fixtures/tracedJob.ts';

test('a range that always throws is retried with backoff, then failed; the rest finish', async () => {
  const run = await runSluice(['run', job, '--database-url', db.url, '--json'], {
    ...env,
    FAIL_SEQ: '3',
  });
  expect(run.code, run.stderr).toBe(3);
  const summary = JSON.parse(run.stdout);
  expect(summary).toMatchObject({ status: 'failed', total: 300, done: 290, failed: 10 });
  expect(summary.tasks).toEqual({ total: 30, done: 29, failed: 1 });
  expect(summary.result).toEqual({ total: 45150 - (31 + 40) * 5, n: 290 });

  const tries = await db.sql<{ gap: number }[]>`
    select extract(epoch from started_at - lag(started_at) over (order by started_at)) * 1000 as gap
    from trace where seq = 3 order by started_at`;
  expect(tries).toHaveLength(3);
  // Equal jitter: the n-th retry waits between half and all of baseMs * 2^(n-1).
  expect(Number(tries[1]?.gap)).toBeGreaterThanOrEqual(50);
  expect(Number(tries[2]?.gap)).toBeGreaterThanOrEqual(100);

  const [task] = await db.sql`
    select t.status, t.attempts, t.error, t.error_stack from sluice.tasks t
    join sluice.jobs j on j.id = t.job_id where j.name = 'poisoned' and t.seq = 3`;
  expect(task).toMatchObject({ status: 'failed', attempts: 3, error: 'range 3 is poisoned' });
  expect(task?.error_stack).toContain('tracedJob.ts');

  const status = await runSluice(['status', 'poisoned', '--database-url', db.url]);
  expect(status.code).toBe(0);
  expect(status.stdout).toContain('failed task 3');
  expect(status.stdout).toContain('range 3 is poisoned');
});

test('sluice retry re-runs only the failed range, here in a worker process (--executor)', async () => {
  const before = await db.attempts();
  const child = spawnSluice(
    ['retry', job, '--database-url', db.url, '--json', '--executor', 'process:1'],
    env,
  );
  const retry = await finished(child);
  expect(retry.code, retry.stderr).toBe(0);
  const [last] = await db.sql<{ pid: number }[]>`
    select pid from trace where seq = 3 order by started_at desc limit 1`;
  expect(last?.pid).not.toBe(child.pid);
  expect(JSON.parse(retry.stdout)).toMatchObject({
    status: 'done',
    done: 300,
    failed: 0,
    result: { total: 45150, n: 300 },
  });

  const after = await db.attempts();
  for (const [seq, n] of after) expect(n - (before.get(seq) ?? 0)).toBe(seq === 3 ? 1 : 0);
});
