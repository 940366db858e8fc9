import postgres from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { createTestDatabase } from '../support/db.ts';
import { type PgBouncer, startPgBouncer } from '../support/pgbouncer.ts';
import { tracedDatabase } from '../support/traced.ts';

// sluice through Debian's PgBouncer, a process of this test's own in front of the test database.
// Session mode keeps one server session per client connection: runs, and a killed worker's task
// comes back through its advisory lock, as directly. Transaction mode hands each transaction any
// server session: the locks and LISTEN sluice keeps on its sessions cannot work, and sluice
// refuses at start, in one line, writing nothing.

let db: Awaited<ReturnType<typeof tracedDatabase>>;
let session: PgBouncer;
let transaction: PgBouncer;
beforeAll(async () => {
  db = await tracedDatabase();
  session = await startPgBouncer(db.url, 'session');
  transaction = await startPgBouncer(db.url, 'transaction');
}, 120_000);
afterAll(async () => {
  await session?.stop();
  await transaction?.stop();
  await db?.close();
});

const job = 'test/fixtures/tracedJob.ts';

test('in session mode, a sluice run through PgBouncer runs every range once', async () => {
  const env = { DATABASE_URL: session.url, JOB_NAME: 'pooled', ROWS: '200', CAP: '3' };
  const result = await runSluice(['run', job, '--concurrency', '3', '--json'], env);
  expect(result.code, result.stderr).toBe(0);
  expect(JSON.parse(result.stdout.trim().split('\n').at(-1) as string)).toMatchObject({
    status: 'done',
    result: { total: 20100, n: 200 },
  });
  const attempts = await db.attempts();
  expect(attempts.size).toBe(20);
  expect([...attempts.values()].every((n) => n === 1)).toBe(true);
  expect(result.stderr).not.toMatch(/Warning|lost its database session/);
});

test("in session mode, a SIGKILLed worker's task is reclaimed through its lock, before its lease ends", async () => {
  await db.sql`truncate trace`;
  const env = {
    DATABASE_URL: session.url,
    JOB_NAME: 'pooled-crash',
    ROWS: '200',
    CAP: '2',
    SLEEP_MS: '200',
  };
  const planned = await runSluice(['run', job, '--detach'], env);
  expect(planned.code, planned.stderr).toBe(0);
  // The first range to start sleeps long: the worker is killed inside it.
  const worker = spawnSluice(['worker', job, '--concurrency', '1'], { ...env, SLEEP_MS: '60000' });
  const killed = finished(worker);
  await waitFor(async () => (await db.sql`select 1 from trace`).length > 0);
  const [held] = await db.sql<{ seq: number; lease: Date }[]>`
    select t.seq, t.lease_until as lease from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = 'pooled-crash' and t.status = 'running'`;
  expect(held).toBeDefined();
  worker.kill('SIGKILL');
  expect((await killed).signal).toBe('SIGKILL');

  const rest = await runSluice(['run', job, '--json'], env);
  expect(rest.code, rest.stderr).toBe(0);
  const attempts = await db.attempts();
  expect(attempts.size).toBe(20);
  expect(attempts.get(held?.seq as number)).toBe(2);
  // Reclaimed because the dead worker's lock was gone (PgBouncer's reset of the server session
  // drops it), not because its lease ran out: the range ran again before that.
  const [again] = await db.sql<{ at: Date }[]>`
    select max(started_at) as at from trace where seq = ${held?.seq as number}`;
  expect(again?.at.getTime()).toBeLessThan(held?.lease.getTime() as number);
});

test('in transaction mode, sluice refuses at start with one line and writes nothing', async () => {
  const fresh = await createTestDatabase();
  try {
    const url = new URL(transaction.url);
    url.pathname = new URL(fresh.url).pathname;
    const env = { DATABASE_URL: url.toString(), JOB_NAME: 'pooled-refused' };
    for (const args of [
      ['run', job],
      ['worker', job],
    ]) {
      const result = await runSluice(args, env);
      expect(result.code).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/PgBouncer's transaction or statement mode/);
      expect(lines[0]).toMatch(
        /session mode \(pool_mode = session\) or connect to PostgreSQL directly/,
      );
    }
    const direct = postgres(fresh.url, { max: 1, onnotice: () => {} });
    try {
      const [schema] = await direct`select to_regnamespace('sluice') as s`;
      expect(schema?.s).toBeNull();
    } finally {
      await direct.end();
    }
  } finally {
    await fresh.drop();
  }
});
