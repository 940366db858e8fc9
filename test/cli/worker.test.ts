import { afterAll, beforeAll, expect, test } from 'vitest';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { tracedDatabase } from '../support/traced.ts';

let db: Awaited<ReturnType<typeof tracedDatabase>>;
beforeAll(async () => {
  db = await tracedDatabase();
});
afterAll(() => db.close());

const job = 'test/fixtures/tracedJob.ts';

test('4 workers and a coordinator on one job never hold more than 3 tasks together', async () => {
  const env = {
    DATABASE_URL: db.url,
    JOB_NAME: 'elastic',
    CAP: '3',
    ROWS: '400',
    ROWS_PER_RANGE: '10',
    SLEEP_MS: '150',
  };
  // The workers start first and wait for the job to be planned.
  const workers = Array.from({ length: 4 }, () =>
    finished(spawnSluice(['worker', job, '--exit-when-done', '--json'], env)),
  );
  await new Promise((r) => setTimeout(r, 1500));
  const coordinator = finished(spawnSluice(['run', job, '--json'], env));

  let peakRunning = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakRunning = Math.max(peakRunning, await db.runningTasks('elastic'));
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const results = await Promise.all([coordinator, ...workers]);
  sampling = false;
  await sampler;

  for (const r of results) {
    expect(r.code, r.stderr).toBe(0);
    // Each prints the same reduced result, read from the store.
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    expect(summary).toMatchObject({ status: 'done', result: { total: 80200, n: 400 } });
  }
  const attempts = await db.attempts();
  expect(attempts.size).toBe(40);
  expect([...attempts.values()].every((n) => n === 1)).toBe(true);
  // Work was shared: more than two processes ran ranges.
  const [byProcess] = await db.sql`select count(distinct pid)::int as n from trace`;
  expect(byProcess?.n).toBeGreaterThan(2);
  expect(peakRunning).toBeLessThanOrEqual(3);
  expect(await db.peakOverlap()).toBe(3);
  const [finishedOnce] = await db.sql`
    select count(*)::int as n from sluice.jobs where name = 'elastic' and status = 'done'`;
  expect(finishedOnce?.n).toBe(1);
});

test('a worker that cannot reach the database says so in one line and exits 2', async () => {
  const result = await runSluice(['worker', job], {
    DATABASE_URL: 'postgres://sluice:secret@127.0.0.1:1/nowhere',
  });
  expect(result.code).toBe(2);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(
    /^sluice: Cannot reach the database at postgres:\/\/sluice:\*+@127\.0\.0\.1:1\/nowhere/,
  );
  expect(result.stderr).not.toContain('secret');
});

test('a worker with no job module, or a bad flag, is refused before it connects', async () => {
  const none = await runSluice(['worker'], { DATABASE_URL: db.url });
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/^sluice: Missing the job module/);
  const grace = await runSluice(['worker', job, '--grace', 'soon'], { DATABASE_URL: db.url });
  expect(grace.code).toBe(2);
  expect(grace.stderr.trim()).toBe(
    'sluice: Expected `--grace` to be a whole number >= 0, got `"soon"` (string)',
  );
  const mode = await runSluice(['worker', job, '--executor', 'fibers'], { DATABASE_URL: db.url });
  expect(mode.code).toBe(2);
  expect(mode.stderr).toMatch(/^sluice: Expected `--executor` to be a mode/);
  const all = await runSluice(['worker', '--all', '--executor', 'thread'], {
    DATABASE_URL: db.url,
  });
  expect(all.code).toBe(2);
  expect(all.stderr.trim()).toMatch(
    /apply to named job modules; with --all each job runs in its own mode$/,
  );
});

test('worker --executor thread:2 runs a detached job in its own worker threads', async () => {
  const env = {
    DATABASE_URL: db.url,
    JOB_NAME: 'threaded-worker',
    ROWS: '200',
    ROUNDS: '20',
    SLEEP_MS: '200',
  };
  const module = 'test/fixtures/executorJob.ts';
  expect((await runSluice(['run', module, '--detach'], env)).code).toBe(0);
  const worker = await runSluice(
    ['worker', module, '--executor', 'thread:2', '--exit-when-done', '--json'],
    env,
  );
  expect(worker.code, worker.stderr).toBe(0);
  const threads = await db.sql<{ thread: number; n: number }[]>`
    select thread, count(*)::int as n from runs group by thread order by thread`;
  // Every range ran off the main thread (id 0), spread over the pool's two threads.
  expect(threads.map((t) => t.thread)).not.toContain(0);
  expect(threads).toHaveLength(2);
  expect(threads.reduce((sum, t) => sum + t.n, 0)).toBe(4);
});

test('a long-lived worker finishes a job, waits, and joins its next run', async () => {
  const env = { DATABASE_URL: db.url, JOB_NAME: 'again', ROWS_PER_RANGE: '50' };
  const worker = spawnSluice(['worker', job, '--concurrency', '2'], env);
  const output = finished(worker);
  let stdout = '';
  worker.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  const first = await runSluice(['run', job, '--detach'], env);
  expect(first.code, first.stderr).toBe(0);
  // The table holds the earlier test's rows too; what matters is how many runs completed.
  const completed = () => stdout.split('Batch complete:').length - 1;
  await waitFor(async () => completed() === 1);
  const second = await runSluice(['run', job, '--detach', '--rerun'], env);
  expect(second.code, second.stderr).toBe(0);
  await waitFor(async () => completed() === 2);
  worker.kill('SIGTERM');
  const result = await output;
  expect(result.code, result.stderr).toBe(130);
  const [runs] =
    await db.sql`select count(*)::int as n from trace where seq = 0 and pid = ${worker.pid as number}`;
  expect(runs?.n).toBe(2);
  expect(result.stderr).toContain(
    'Job again is finished; waiting for a rerun to plan it again (`sluice run --rerun`)',
  );
});

test('a worker whose job is not planned yet says what it waits for', async () => {
  const env = { DATABASE_URL: db.url, JOB_NAME: 'not-yet' };
  const worker = spawnSluice(['worker', job], env);
  let stderr = '';
  worker.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const output = finished(worker);
  await waitFor(async () => stderr.includes('Waiting for job not-yet to be planned'));
  // A few more polls (one a second) go by.
  await new Promise((r) => setTimeout(r, 2500));
  worker.kill('SIGTERM');
  const result = await output;
  expect(result.code, result.stderr).toBe(130);
  // Once, not once a poll.
  expect(stderr.split('Waiting for job').length - 1).toBe(1);
});

test('worker --all joins a running job by the module `sluice run` recorded', async () => {
  const env = {
    DATABASE_URL: db.url,
    JOB_NAME: 'any-job',
    CAP: '3',
    // 120 ranges of 200 ms under a cap of 3: ~8 s, so the worker, started once the first range
    // runs, joins before the coordinator has claimed them all, even on a loaded machine, where a
    // CLI takes seconds to start (4 s of work was not always enough).
    ROWS: '1200',
    ROWS_PER_RANGE: '10',
    SLEEP_MS: '200',
  };
  await db.sql`truncate trace`;
  const coordinator = finished(spawnSluice(['run', job, '--json'], env));
  await waitFor(async () => (await db.runningTasks('any-job')) > 0);
  // The worker knows no module of its own: it reads it from the job row.
  const worker = await runSluice(['worker', '--all', '--exit-when-done', '--json'], {
    DATABASE_URL: db.url,
    SLEEP_MS: '200',
    ROWS: '1200',
    ROWS_PER_RANGE: '10',
    JOB_NAME: 'any-job',
  });
  const ran = await coordinator;
  expect(ran.code, ran.stderr).toBe(0);
  expect(worker.code, worker.stderr).toBe(0);
  expect(JSON.parse(worker.stdout.trim().split('\n').at(-1) as string)).toMatchObject({
    job: 'any-job',
    status: 'done',
  });
  const [pids] = await db.sql`select count(distinct pid)::int as n from trace`;
  expect(pids?.n).toBe(2);

  const both = await runSluice(['worker', job, '--all'], { DATABASE_URL: db.url });
  expect(both.code).toBe(2);
  expect(both.stderr).toMatch(/^sluice: Give job modules or --all, not both/);
});
