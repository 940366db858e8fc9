import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase();
const job = 'test/fixtures/tracedJob.ts';
const shape = { ROWS: '40', ROWS_PER_RANGE: '10' };

const status = async (name: string) =>
  (await db.sql<{ status: string }[]>`select status from sluice.jobs where name = ${name}`)[0]
    ?.status;

test('worker --all skips a job whose module now defines another, and still joins that one', async () => {
  const env = { ...shape, DATABASE_URL: db.url };
  // Both are planned from the same file; then it is edited to define only `slow-job`. The job
  // it no longer defines is the newer one, so `--all` meets it first.
  const slow = await runSluice(['run', job, '--detach'], { ...env, JOB_NAME: 'slow-job' });
  expect(slow.code, slow.stderr).toBe(0);
  const renamed = await runSluice(['run', job, '--detach'], { ...env, JOB_NAME: 'all-job' });
  expect(renamed.code, renamed.stderr).toBe(0);

  const worker = await runSluice(['worker', '--all', '--exit-when-done', '--json'], {
    ...env,
    JOB_NAME: 'slow-job',
    // Its 4 ranges take 2 s under the cap of 3: the worker polls the job list a few times.
    SLEEP_MS: '1000',
  });
  expect(await status('slow-job')).toBe('done');
  expect(JSON.parse(worker.stdout.trim().split('\n').at(-1) as string)).toMatchObject({
    job: 'slow-job',
    status: 'done',
  });
  // It did all it could, but a job it skipped is unfinished: not a success.
  expect(await status('all-job')).toBe('running');
  expect(worker.code, worker.stderr).toBe(2);
  const lines = worker.stderr.trim().split('\n');
  expect(lines.filter((l) => l.includes('all-job'))).toEqual([
    expect.stringMatching(/^sluice: skipping job all-job: .*tracedJob\.ts now defines slow-job$/),
    'sluice: done with every job this worker can run; still unfinished, skipped above: all-job',
  ]);
});
