import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, expect, test } from 'vitest';
import { digest } from '../fixtures/executorJob.ts';
import { exists, processTag, taggedWorkers } from '../fixtures/executorProcesses.ts';
import { finished, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
const tag = processTag();
const rows = 300;
let expected: { rows: number; sum: number };

beforeAll(async () => {
  let sum = 0;
  for (let id = 1; id <= rows; id++) sum = (sum + digest(id)) % 2 ** 32;
  expected = { rows, sum };
});

// Whatever happened, no worker a run started outlives it, as an orphan or a zombie.
afterEach(async () => {
  // A test that failed half-way leaves its CLI running; it must not feed the next test's table.
  for (const child of spawned.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await waitFor(async () => taggedWorkers(tag).length === 0, 5000);
  const pids = await db.sql<{ pid: number }[]>`select distinct pid from runs`.catch(() => []);
  for (const { pid } of pids) expect(exists(pid), `worker ${pid} still exists`).toBe(false);
  await db.sql`truncate runs`.catch(() => {});
});

const spawned: ChildProcess[] = [];

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Starts the CLI as spawnSluice does, but as the leader of its own process group, so a test can
 * signal the group as a terminal's Ctrl-C does.
 */
function start(name: string, executor: string, env: Record<string, string> = {}) {
  const args = ['run', 'test/fixtures/executorJob.ts', '--database-url', db.url, '--json'];
  const child = spawn(process.execPath, ['bin/sluice.js', ...args, '--executor', executor], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: undefined,
      SLUICE_STATE_URL: undefined,
      ...{ JOB_NAME: name, ROWS: String(rows), SLUICE_TEST_TAG: tag, ...env },
    },
  });
  spawned.push(child);
  return { child, done: finished(child) };
}

interface Attempt {
  seq: number;
  attempt: number;
  pid: number;
  thread: number;
  finished: Date | null;
}

// Empty until the job's prepare has created the table.
const attempts = () =>
  db.sql<Attempt[]>`select seq, attempt, pid, thread, finished_at as finished from runs
                 order by started_at`.catch((): Attempt[] => []);

const summaryOf = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) as string);

test('a SIGKILLed process worker: its task is retried and done within 5 s, and the pool replaces it', async () => {
  const { child, done } = start('killed', 'process:2', { SLEEP_MS: '800' });
  let victim: Attempt | undefined;
  await waitFor(async () => {
    victim = (await attempts()).find((a) => a.finished === null && a.pid !== child.pid);
    return victim !== undefined;
  });
  const { seq, pid } = victim as Attempt;
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await waitFor(
    async () => (await attempts()).some((a) => a.seq === seq && a.pid !== pid && a.finished),
    5000,
  );
  expect(Date.now() - killedAt).toBeLessThan(5000);

  const result = await done;
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toContain('worker process exited with signal SIGKILL');
  expect(summaryOf(result.stdout)).toMatchObject({ status: 'done', result: expected });
  // Two workers up front and one that replaced the killed one.
  const pids = new Set((await attempts()).map((a) => a.pid));
  expect(pids.size).toBe(3);
  expect(exists(pid)).toBe(false);
});

test('the poison pill: on Ctrl-C each process worker finishes its current task, then exits', async () => {
  const { child, done } = start('pill', 'process:2', { SLEEP_MS: '1500', CAP: '2' });
  await waitFor(async () => (await attempts()).length === 2);
  const workers = taggedWorkers(tag).filter((w) => w.ppid === child.pid);
  expect(workers).toHaveLength(2);
  // Ctrl-C on a terminal signals the whole process group, workers included.
  process.kill(-(child.pid as number), 'SIGINT');
  const result = await done;
  expect(result.code, result.stderr).toBe(130);
  const ran = await attempts();
  expect(ran).toHaveLength(2);
  expect(ran.every((a) => a.finished !== null)).toBe(true);
  const [counted] = await db.sql<{ done: number; running: number }[]>`
    select count(*) filter (where t.status = 'done')::int as done,
           count(*) filter (where t.status = 'running')::int as running
    from sluice.tasks t join sluice.jobs j on j.id = t.job_id where j.name = 'pill'`;
  expect(counted).toEqual({ done: 2, running: 0 });
  for (const worker of workers) expect(exists(worker.pid)).toBe(false);
});

test('a SIGKILLed coordinator takes its process workers with it', async () => {
  const { child, done } = start('orphans', 'process:2', { SLEEP_MS: '1500', CAP: '2' });
  await waitFor(async () => (await attempts()).length === 2);
  const workers = taggedWorkers(tag).filter((w) => w.ppid === child.pid);
  expect(workers).toHaveLength(2);
  child.kill('SIGKILL');
  await done;
  await waitFor(async () => workers.every((w) => !exists(w.pid)), 5000);
});

for (const executor of ['thread:2', 'process:2']) {
  test(`${executor}: a task past funcRamMb fails as out of memory, is retried in a fresh worker, and the run survives`, async () => {
    const { done } = start(`oom-${executor.replace(':', '-')}`, executor, {
      FUNC_RAM_MB: '64',
      OOM_SEQ: '2',
    });
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('out of memory (limit 64 MB)');
    // V8's own dump stays out of the output: the task's error line says it.
    expect(result.stderr).not.toContain('FATAL ERROR');
    expect(summaryOf(result.stdout)).toMatchObject({ status: 'done', result: expected });
    const tries = (await attempts()).filter((a) => a.seq === 2);
    expect(tries.map((a) => a.attempt)).toEqual([1, 2]);
    const [first, second] = tries as [Attempt, Attempt];
    expect(`${second.pid}/${second.thread}`).not.toBe(`${first.pid}/${first.thread}`);
  });
}
