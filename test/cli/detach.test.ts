import { afterAll, beforeAll, expect, test } from 'vitest';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { tracedDatabase } from '../support/traced.ts';

let db: Awaited<ReturnType<typeof tracedDatabase>>;
beforeAll(async () => {
  db = await tracedDatabase();
});
afterAll(() => db.close());

const job = 'test/fixtures/tracedJob.ts';

test('run --detach plans and returns; workers run it; wait prints the summary and exit code', async () => {
  const env = { DATABASE_URL: db.url, JOB_NAME: 'detached', ROWS: '200', SLEEP_MS: '100' };
  const detached = await runSluice(['run', job, '--detach'], env);
  expect(detached.code, detached.stderr).toBe(0);
  expect(detached.stdout).toContain('Job detached is planned: 20 ranges, 200 rows');
  // What sluice wait, which has no module, calls them.
  const [names] = await db.sql`select unit, task_noun from sluice.jobs where name = 'detached'`;
  expect(names).toEqual({ unit: 'rows', task_noun: 'ranges' });
  expect(detached.stdout).toContain(
    'Add workers with `sluice worker test/fixtures/tracedJob.ts`, and follow it with `sluice wait detached`',
  );
  // Planned, and nothing ran.
  const [ran] = await db.sql`select count(*)::int as n from trace`;
  expect(ran?.n).toBe(0);
  expect(await db.runningTasks('detached')).toBe(0);

  const waiting = finished(spawnSluice(['wait', 'detached'], env));
  const watchingJson = finished(spawnSluice(['wait', 'detached', '--json'], env));
  const workers = [1, 2].map(() => finished(spawnSluice(['worker', job, '--exit-when-done'], env)));
  const [waited, waitedJson] = await Promise.all([waiting, watchingJson]);
  for (const w of await Promise.all(workers)) expect(w.code, w.stderr).toBe(0);
  expect(waited.code, waited.stderr).toBe(0);
  expect(waited.stdout).toMatch(/"total": 20100/);
  expect(waited.stdout).toMatch(/Batch complete: 200\/200 items, 0 failed \(0\.0%\)/);
  expect(JSON.parse(waitedJson.stdout)).toMatchObject({
    job: 'detached',
    status: 'done',
    total: 200,
    done: 200,
    unit: 'rows',
    alreadyFinished: false,
    result: { total: 20100, n: 200 },
  });
  // `wait` claims nothing: every range ran in a worker.
  const pids = await db.sql<{ pid: number }[]>`select distinct pid from trace`;
  expect(pids.length).toBeGreaterThan(0);
  const attempts = await db.attempts();
  expect(attempts.size).toBe(20);
  expect([...attempts.values()].every((n) => n === 1)).toBe(true);
});

test('wait exits 3 when tasks failed, and refuses a job that does not exist', async () => {
  const env = { DATABASE_URL: db.url, JOB_NAME: 'poisoned', FAIL_SEQ: '2', ATTEMPTS: '1' };
  expect((await runSluice(['run', job, '--detach'], env)).code).toBe(0);
  const worker = await runSluice(['worker', job, '--exit-when-done'], env);
  expect(worker.code, worker.stderr).toBe(3);
  const waited = await runSluice(['wait', 'poisoned'], env);
  expect(waited.code).toBe(3);
  expect(waited.stdout).toMatch(/Batch complete: \d+\/200 items, 10 failed/);

  const missing = await runSluice(['wait', 'no-such-job'], env);
  expect(missing.code).toBe(2);
  expect(missing.stderr.trim()).toBe(
    'sluice: No job named `no-such-job`; `sluice status` lists them',
  );
});

test('Ctrl-C on wait stops watching only: it says so, exits 130, and the job is left as it was', async () => {
  const env = { DATABASE_URL: db.url, JOB_NAME: 'watched', ROWS: '100', SLEEP_MS: '100' };
  expect((await runSluice(['run', job, '--detach'], env)).code).toBe(0);
  const child = spawnSluice(['wait', 'watched'], env);
  const waiting = finished(child);
  // Once it is connected, interrupt it.
  await waitFor(async () => {
    const [row] = await db.sql`select count(*)::int as n from pg_stat_activity
      where application_name like 'sluice%' and datname = current_database()`;
    return (row?.n ?? 0) > 0;
  });
  child.kill('SIGINT');
  const waited = await waiting;
  expect(waited.code, waited.stderr).toBe(130);
  expect(waited.stderr).toContain('Stopped watching; job watched goes on');
  expect(waited.stderr).not.toMatch(/Stopping: running tasks|Aborting/);
  const [row] = await db.sql`select status from sluice.jobs where name = 'watched'`;
  expect(row?.status).toBe('running');
});
