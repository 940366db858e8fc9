// Thread and process workers get their next task claimed ahead, so a worker that finishes a task
// starts the next at once instead of idling through a complete and a claim. These tests check
// what that must not change: the cap, Ctrl-C, task timeouts and the 429 pause.
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { retryAfterMs } from '../fixtures/executorPauseJob.ts';
import { exists, processTag, taggedWorkers } from '../fixtures/executorProcesses.ts';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
const tag = processTag();

afterEach(async () => {
  await waitFor(async () => taggedWorkers(tag).length === 0, 5000);
  const pids = await db.sql<{ pid: number }[]>`select distinct pid from runs`.catch(() => []);
  for (const { pid } of pids) expect(exists(pid), `worker ${pid} still exists`).toBe(false);
  await db.sql`truncate runs`.catch(() => {});
});

function start(name: string, executor: string, env: Record<string, string>, more: string[] = []) {
  const args = ['run', 'test/fixtures/executorJob.ts', '--database-url', db.url, '--json'];
  const child = spawnSluice([...args, '--executor', executor, ...more], {
    JOB_NAME: name,
    SLUICE_TEST_TAG: tag,
    ROUNDS: '1',
    ...env,
  });
  return { child, done: finished(child) };
}

interface Attempt {
  seq: number;
  attempt: number;
  worker: string;
  claimed: number;
  started: number;
  finished: number | null;
}

/** Every attempt the workers ran, with when the store handed its task out. */
const attempts = (job: string) =>
  db.sql<Attempt[]>`
    select r.seq, r.attempt, r.pid || '/' || r.thread as worker,
           extract(epoch from t.started_at)::float8 * 1000 as claimed,
           extract(epoch from r.started_at)::float8 * 1000 as started,
           extract(epoch from r.finished_at)::float8 * 1000 as finished
    from runs r join sluice.tasks t on t.seq = r.seq
    join sluice.jobs j on j.id = t.job_id and j.name = ${job}
    order by r.started_at`.catch((): Attempt[] => []);

const storeCounts = (job: string) =>
  db.sql<{ status: string; attempts: number; n: number }[]>`
    select t.status, t.attempts, count(*)::int as n
    from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = ${job} group by 1, 2 order by 1, 2`;

const waitingTasks = async (job: string) => {
  const [row] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = ${job} and t.waiting`.catch(() => [{ n: 0 }]);
  return row?.n ?? 0;
};

const running = async (job: string) =>
  (await storeCounts(job).catch(() => []))
    .filter((c) => c.status === 'running')
    .reduce((sum, c) => sum + c.n, 0);

for (const executor of ['thread:2', 'process:2']) {
  test(`${executor} under a cap of 4: each worker's next task is claimed before it finishes, and the cap holds`, async () => {
    const job = `ahead-${executor.replace(':', '-')}`;
    const { done } = start(job, executor, { ROWS: '400', PER_RANGE: '25', SLEEP_MS: '150' });
    const most = await mostRunning(job, done);
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    // Two running on the workers, two claimed ahead: the store never counts more than the cap.
    expect(most).toBeGreaterThan(2);
    expect(most).toBeLessThanOrEqual(4);
    const ran = await attempts(job);
    expect(ran).toHaveLength(16);
    // Never more than one task at a time on a worker.
    const byWorker = new Map<string, Attempt[]>();
    for (const a of ran) byWorker.set(a.worker, [...(byWorker.get(a.worker) ?? []), a]);
    expect(byWorker.size).toBe(2);
    for (const list of byWorker.values()) {
      for (let i = 1; i < list.length; i++) {
        const previous = list[i - 1] as Attempt;
        const next = list[i] as Attempt;
        expect(next.started).toBeGreaterThanOrEqual(previous.finished as number);
        // Claimed while the worker was still busy with the previous task.
        expect(next.claimed).toBeLessThan(previous.finished as number);
      }
    }
  });
}

/** The most tasks the store counted as running, sampled until the run ends. */
async function mostRunning(job: string, done: Promise<unknown>): Promise<number> {
  let most = 0;
  let ended = false;
  void done.then(() => {
    ended = true;
  });
  while (!ended) {
    most = Math.max(most, await running(job));
    await new Promise((wait) => setTimeout(wait, 20));
  }
  return most;
}

test('thread:2 with --concurrency 1: one task at a time, none claimed ahead', async () => {
  const job = 'ahead-concurrency';
  const { done } = start(job, 'thread:2', { ROWS: '400', SLEEP_MS: '100' }, ['--concurrency', '1']);
  expect(await mostRunning(job, done)).toBe(1);
  const result = await done;
  expect(result.code, result.stderr).toBe(0);
  const ran = await attempts(job);
  expect(ran).toHaveLength(8);
  for (let i = 1; i < ran.length; i++)
    expect((ran[i] as Attempt).started).toBeGreaterThanOrEqual(
      (ran[i - 1] as Attempt).finished as number,
    );
});

test('Ctrl-C: a task claimed ahead goes back to the queue untouched, its attempt not spent', async () => {
  const job = 'ahead-stop';
  const { child, done } = start(job, 'thread:2', { ROWS: '400', SLEEP_MS: '1500' });
  await waitFor(async () => (await running(job)) === 4 && (await attempts(job)).length === 2);
  child.kill('SIGINT');
  const result = await done;
  expect(result.code, result.stderr).toBe(130);
  // The two that ran are done; the two claimed ahead and the rest are pending, never attempted.
  expect(await storeCounts(job)).toEqual([
    { status: 'done', attempts: 1, n: 2 },
    { status: 'pending', attempts: 0, n: 6 },
  ]);
  expect(await attempts(job)).toHaveLength(2);
});

test('SIGKILL of the coordinator: tasks claimed ahead go back with their attempt unspent', async () => {
  const job = 'ahead-killed';
  const { child, done } = start(job, 'process:2', { ROWS: '400', SLEEP_MS: '1500' });
  await waitFor(async () => (await running(job)) === 4 && (await attempts(job)).length === 2);
  // The two claimed ahead have waited long enough to be marked as waiting for a worker.
  await waitFor(async () => (await waitingTasks(job)) === 2);
  child.kill('SIGKILL');
  expect((await done).signal).toBe('SIGKILL');
  const started = new Set((await attempts(job)).map((a) => a.seq));

  const rerun = start(job, 'process:2', { ROWS: '400', SLEEP_MS: '10' });
  const result = await rerun.done;
  expect(result.code, result.stderr).toBe(0);
  // The two cut short ran again as their second attempt; every other task, the two claimed
  // ahead included, ran once, as its first.
  const ran = await attempts(job);
  expect(ran).toHaveLength(10);
  for (const a of ran.filter((a) => a.finished !== null)) {
    expect(a.attempt, `task ${a.seq}`).toBe(started.has(a.seq) ? 2 : 1);
  }
  expect(await storeCounts(job)).toEqual([
    { status: 'done', attempts: 1, n: 6 },
    { status: 'done', attempts: 2, n: 2 },
  ]);
});

test('a task claimed ahead does not time out while it waits for its worker', async () => {
  const job = 'ahead-timeout';
  // One worker, one task ahead: each task runs 1 s under a 1.5 s timeout, so a task claimed
  // ahead would reach 2 s if its wait counted. The margins are 0.5 s both ways: the first task
  // also opens the worker's connection, which is slow on a loaded machine.
  const { done } = start(job, 'thread:1', {
    ROWS: '200',
    SLEEP_MS: '1000',
    TIMEOUT_MS: '1500',
  });
  const result = await done;
  expect(result.code, result.stderr).toBe(0);
  const ran = await attempts(job);
  // Only tasks after the first were claimed ahead (the table holds the earlier tests' rows too,
  // so there are 4 or more), and every one of them ran once, as its first attempt.
  const waited = ran.filter((a) => a.seq > 0);
  expect(waited.length).toBeGreaterThanOrEqual(3);
  expect(new Set(waited.map((a) => a.seq)).size).toBe(waited.length);
  expect(waited.filter((a) => a.attempt !== 1)).toEqual([]);
});

test('each in threads without a rate limit: a 429 in one worker holds the items of both', async () => {
  const out = join(tmpdir(), `executor-pause-${process.pid}.jsonl`);
  const run = await runSluice([
    'run',
    'test/fixtures/executorPauseJob.ts',
    '--database-url',
    db.url,
    '--out',
    out,
  ]);
  expect(run.code, run.stderr).toBe(0);
  const lines = (await readFile(out, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { item: number; value: { thread: number; at: number } });
  expect(lines).toHaveLength(40);
  const at = (item: number) =>
    lines.find((l) => l.item === item)?.value as { thread: number; at: number };
  // Item 7 was throttled right after item 6 (25 ms), in the same chunk.
  const throttledAt = at(6).at + 25;
  expect(at(7).at).toBeGreaterThanOrEqual(throttledAt + retryAfterMs - 30);
  const other = lines.filter((l) => l.value.thread !== at(7).thread);
  expect(other.length).toBeGreaterThan(0);
  // The other worker starts no item while the pause holds, and goes on after it.
  const during = other.filter(
    (l) => l.value.at > throttledAt + 30 && l.value.at < throttledAt + retryAfterMs - 30,
  );
  expect(during).toEqual([]);
  expect(other.some((l) => l.value.at >= throttledAt + retryAfterMs - 30)).toBe(true);
});
