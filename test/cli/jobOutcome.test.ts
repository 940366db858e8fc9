// How a job ends when only items failed, and what `--rerun` does to the dead letters of the run
// before it (docs/failures.md, "How a job ends" and "Dead letters").
import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
const job = 'test/fixtures/itemsJob.ts';
// Items 7, 14, 21 and 28 fail; each chunk (task) of 10 returns their failures and is done.
const env = { ITEMS: '30', CHUNK: '10', FAIL_EVERY: '7' };
const failing = ['7', '14', '21', '28'];

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) as string);

interface Letter {
  key: string;
  attempts: number;
  firstFailedAt: string;
}

async function deadLetters(name: string): Promise<Letter[]> {
  const list = await runSluice(['dlq', 'list', name, '--database-url', db.url, '--json']);
  expect(list.code, list.stderr).toBe(0);
  return (lastJson(list.stdout).deadLetters as Letter[]).sort(
    (a, b) => Number(a.key) - Number(b.key),
  );
}

test('every task done, some items failed: status failed, no stoppedBy, exit 3', async () => {
  const run = await runSluice(['run', job, '--database-url', db.url, '--json'], {
    ...env,
    JOB_NAME: 'items-failed',
  });
  expect(run.code, run.stderr).toBe(3);
  const summary = lastJson(run.stdout);
  expect(summary).toMatchObject({
    job: 'items-failed',
    status: 'failed',
    total: 30,
    done: 26,
    failed: 4,
    tasks: { total: 3, done: 3, failed: 0 },
  });
  expect(summary.stoppedBy).toBeUndefined();
  // The store says the same: the job is failed and none of its tasks is.
  const [row] = await db.sql<{ status: string; failedTasks: number }[]>`
    select j.status, count(*) filter (where t.status <> 'done')::int as "failedTasks"
    from sluice.jobs j join sluice.tasks t on t.job_id = j.id
    where j.name = 'items-failed' group by j.status`;
  expect(row).toEqual({ status: 'failed', failedTasks: 0 });
  // Run again without --rerun: the finished job's summary and exit code, unchanged.
  const again = await runSluice(['run', job, '--database-url', db.url, '--json'], {
    ...env,
    JOB_NAME: 'items-failed',
  });
  expect(again.code, again.stderr).toBe(3);
  expect(lastJson(again.stdout)).toMatchObject({ status: 'failed', alreadyFinished: true });
});

test("dlq replay adds to a dead letter's attempts; --rerun starts the dead letters afresh", async () => {
  const name = 'items-rerun';
  const first = await runSluice(['run', job, '--database-url', db.url], { ...env, JOB_NAME: name });
  expect(first.code, first.stderr).toBe(3);
  const before = await deadLetters(name);
  expect(before.map((l) => [l.key, l.attempts])).toEqual(failing.map((key) => [key, 1]));

  // The same run of the job goes on: the items fail again and their attempts add up.
  const replay = await runSluice(['dlq', 'replay', job, '--database-url', db.url], {
    ...env,
    JOB_NAME: name,
  });
  expect(replay.code, replay.stderr).toBe(3);
  const replayed = await deadLetters(name);
  expect(replayed.map((l) => [l.key, l.attempts])).toEqual(failing.map((key) => [key, 2]));
  expect(replayed.map((l) => l.firstFailedAt)).toEqual(before.map((l) => l.firstFailedAt));

  // A new run: the letters of the old one went with it, and the new ones count from 1.
  const rerun = await runSluice(['run', job, '--database-url', db.url, '--rerun'], {
    ...env,
    JOB_NAME: name,
  });
  expect(rerun.code, rerun.stderr).toBe(3);
  const fresh = await deadLetters(name);
  expect(fresh.map((l) => [l.key, l.attempts])).toEqual(failing.map((key) => [key, 1]));
  for (const [i, letter] of fresh.entries()) {
    expect(Date.parse(letter.firstFailedAt)).toBeGreaterThan(
      Date.parse(replayed[i]?.firstFailedAt as string),
    );
  }
});
