import { afterAll, beforeAll, expect, test } from 'vitest';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { noneRunning } from '../support/db.ts';
import { tracedDatabase } from '../support/traced.ts';

let db: Awaited<ReturnType<typeof tracedDatabase>>;
beforeAll(async () => {
  db = await tracedDatabase();
});
afterAll(() => db.close());

async function openTasks(job: string) {
  return db.sql<{ status: string; n: number }[]>`
    select t.status, count(*)::int as n from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = ${job} group by t.status order by t.status`;
}

test('one Ctrl-C lets running ranges finish, exits 130, and the job resumes', async () => {
  const env = {
    JOB_NAME: 'interrupted',
    CAP: '3',
    ROWS: '300',
    ROWS_PER_RANGE: '10',
    SLEEP_MS: '500',
  };
  const args = ['run', 'test/fixtures/tracedJob.ts', '--database-url', db.url];
  const child = spawnSluice(args, env);
  const done = finished(child);
  await waitFor(async () => {
    const [row] = await db.sql`select count(*)::int as n from trace where finished_at is null`;
    return row?.n === 3;
  });
  const [{ n: startedBefore } = { n: 0 }] = await db.sql`select count(*)::int as n from trace`;
  child.kill('SIGINT');
  const result = await done;
  expect(result.code, result.stderr).toBe(130);
  expect(result.stderr).toContain('Stopping');
  expect(result.stdout).toMatch(/Batch interrupted: \d+\/300 items/);

  // The three ranges running at the interrupt finished; nothing new started; nothing is left running.
  const [unfinished] = await db.sql`select count(*)::int as n from trace where finished_at is null`;
  expect(unfinished?.n).toBe(0);
  const [{ n: startedAfter } = { n: 0 }] = await db.sql`select count(*)::int as n from trace`;
  expect(startedAfter).toBe(startedBefore);
  expect((await openTasks('interrupted')).find((row) => row.status === 'running')).toBeUndefined();

  const resumed = await runSluice([...args, '--json'], { ...env, SLEEP_MS: '0' });
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(JSON.parse(resumed.stdout)).toMatchObject({
    status: 'done',
    result: { total: 45150, n: 300 },
  });
  const attempts = await db.attempts();
  expect([...attempts.values()].every((n) => n === 1)).toBe(true);
});

test('a second Ctrl-C aborts running ranges and releases their claims', async () => {
  await db.sql`truncate trace`;
  const env = {
    JOB_NAME: 'aborted',
    CAP: '3',
    ROWS: '300',
    ROWS_PER_RANGE: '10',
    SLEEP_MS: '20000',
  };
  const args = ['run', 'test/fixtures/tracedJob.ts', '--database-url', db.url];
  const child = spawnSluice(args, env);
  const done = finished(child);
  await waitFor(async () => (await db.runningTasks('aborted')) === 3);
  const interruptedAt = Date.now();
  child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGINT');
  const result = await done;
  expect(result.code, result.stderr).toBe(130);
  expect(Date.now() - interruptedAt).toBeLessThan(10_000);
  const statuses = await openTasks('aborted');
  expect(statuses).toEqual([{ status: 'pending', n: 30 }]);
  // The aborted try does not count against the range's attempts.
  const [attempts] = await db.sql`
    select max(t.attempts)::int as n from sluice.tasks t join sluice.jobs j on j.id = t.job_id where j.name = 'aborted'`;
  expect(attempts?.n).toBe(0);
  // Its queries were cancelled on the server too, not left sleeping (one would sleep 20 s).
  await noneRunning(db.sql, '%pg_sleep%');
});
