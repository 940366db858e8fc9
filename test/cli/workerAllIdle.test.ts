// `sluice worker --all` with nothing to do says that it waits, and for what: once when it goes
// idle, not once a poll, and again after it has worked.
import { expect, test } from 'vitest';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase();
const waiting =
  'Waiting for a job to work on: none is planned and unfinished (`sluice run <job.ts> --detach` plans one)';

test('an idle worker --all says what it waits for, once per idle spell', async () => {
  // The worker loads the job's module with its own environment, which names the job.
  const env = { DATABASE_URL: db.url, JOB_NAME: 'idle-then-busy', ROWS: '20' };
  const worker = spawnSluice(['worker', '--all'], env);
  let stderr = '';
  worker.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const output = finished(worker);
  const said = () => stderr.split('\n').filter((line) => line === waiting).length;
  await waitFor(async () => said() === 1);

  // A job appears: the worker runs it to the end, then waits again and says so.
  const planned = await runSluice(['run', 'test/fixtures/tracedJob.ts', '--detach'], env);
  expect(planned.code, planned.stderr).toBe(0);
  await waitFor(async () => said() === 2, 30_000).catch((error) => {
    throw new Error(`${error.message}; the worker said:\n${stderr}`);
  });
  const [job] = await db.sql`select status from sluice.jobs where name = 'idle-then-busy'`;
  expect(job?.status).toBe('done');
  // Polls go by each second while it sits idle; none says it again.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  worker.kill('SIGTERM');
  const result = await output;
  expect(result.code, result.stderr).toBe(130);
  expect(result.stdout).toContain('Batch complete: 20/20 items, 0 failed');
  expect(said()).toBe(2);
});
