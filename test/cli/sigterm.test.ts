import { afterAll, beforeAll, expect, test } from 'vitest';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { noneRunning } from '../support/db.ts';
import { tracedDatabase } from '../support/traced.ts';

let db: Awaited<ReturnType<typeof tracedDatabase>>;
beforeAll(async () => {
  db = await tracedDatabase();
});
afterAll(() => db.close());

const job = 'test/fixtures/tracedJob.ts';

/** Connections a sluice process holds on this file's database, by the pid in application_name. */
async function connectionsOf(pid: number): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and application_name like ${`sluice:%:${pid}`}`;
  return row?.n ?? 0;
}

/**
 * Waits until a closed process leaves no connection behind: its server backends exit a moment
 * after the process does, so one read right after it closes can still see them.
 */
async function noConnectionsOf(pid: number): Promise<void> {
  await waitFor(async () => (await connectionsOf(pid)) === 0, 5000);
}

/** Ranges whose work finished more than once: a restart redid them. */
async function finishedTwice(): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from (select seq from trace where finished_at is not null
                                    group by seq having count(*) > 1) twice`;
  return row?.n ?? 0;
}

test('SIGTERM on a worker lets running tasks finish, exits 130 leaving nothing behind; a restart loses and redoes nothing', async () => {
  const env = {
    DATABASE_URL: db.url,
    JOB_NAME: 'terminated',
    CAP: '3',
    ROWS: '300',
    SLEEP_MS: '600',
  };
  expect((await runSluice(['run', job, '--detach'], env)).code).toBe(0);
  const worker = spawnSluice(['worker', job], env);
  const exited = finished(worker);
  // Three ranges are inside the job's function, not merely claimed.
  await waitFor(async () => {
    const [row] = await db.sql`select count(*)::int as n from trace where finished_at is null`;
    return row?.n === 3;
  });
  const [{ n: startedBefore } = { n: 0 }] = await db.sql`select count(*)::int as n from trace`;
  worker.kill('SIGTERM');
  const result = await exited;
  expect(result.code, result.stderr).toBe(130);
  expect(result.stdout).toMatch(/Batch interrupted: \d+\/300 items/);
  // The running ranges finished inside the grace period; nothing new started.
  const [unfinished] = await db.sql`select count(*)::int as n from trace where finished_at is null`;
  expect(unfinished?.n).toBe(0);
  const [{ n: startedAfter } = { n: 0 }] = await db.sql`select count(*)::int as n from trace`;
  expect(startedAfter).toBe(startedBefore);
  expect(await db.runningTasks('terminated')).toBe(0);
  await noConnectionsOf(worker.pid as number);

  const restarted = await runSluice(['worker', job, '--exit-when-done', '--json'], {
    ...env,
    SLEEP_MS: '0',
  });
  expect(restarted.code, restarted.stderr).toBe(0);
  expect(JSON.parse(restarted.stdout)).toMatchObject({
    status: 'done',
    result: { total: 45150, n: 300 },
  });
  const attempts = await db.attempts();
  expect(attempts.size).toBe(30);
  expect([...attempts.values()].every((n) => n === 1)).toBe(true);
});

test('past --grace, SIGTERM aborts running tasks, cancels their queries and releases their claims', async () => {
  await db.sql`truncate trace`;
  const env = {
    DATABASE_URL: db.url,
    JOB_NAME: 'graceful',
    CAP: '2',
    ROWS: '100',
    SLEEP_MS: '30000',
  };
  const coordinator = spawnSluice(['run', job, '--grace', '1'], env);
  const exited = finished(coordinator);
  await waitFor(async () => (await db.runningTasks('graceful')) === 2);
  const signalled = Date.now();
  coordinator.kill('SIGTERM');
  const result = await exited;
  const tookMs = Date.now() - signalled;
  expect(result.code, result.stderr).toBe(130);
  expect(tookMs).toBeGreaterThanOrEqual(1000);
  expect(tookMs).toBeLessThan(8000);
  const [statuses] = await db.sql<{ notPending: number; attempts: number }[]>`
    select count(*) filter (where t.status <> 'pending')::int as "notPending", max(t.attempts)::int as attempts
    from sluice.tasks t join sluice.jobs j on j.id = t.job_id where j.name = 'graceful'`;
  // Every task is pending again, and the aborted tries do not count against their attempts.
  expect(statuses).toEqual({ notPending: 0, attempts: 0 });
  // Cancelled, not left sleeping: one that was not would sleep on for 30 s, far past the wait.
  await noneRunning(db.sql, '%pg_sleep%');
  await noConnectionsOf(coordinator.pid as number);

  // The aborted ranges never finished, so a restart runs them; nothing that finished runs again.
  const restarted = await runSluice(['worker', job, '--once'], { ...env, SLEEP_MS: '0' });
  expect(restarted.code, restarted.stderr).toBe(0);
  expect(await finishedTwice()).toBe(0);
  const [done] = await db.sql`
    select count(distinct seq)::int as n from trace where finished_at is not null`;
  const [tasks] = await db.sql`
    select total_tasks as n from sluice.jobs where name = 'graceful'`;
  expect(done?.n).toBe(tasks?.n);
});
