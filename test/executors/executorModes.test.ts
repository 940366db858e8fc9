import { afterEach, beforeAll, expect, test } from 'vitest';
import { digest } from '../fixtures/executorJob.ts';
import { exists, processTag, taggedWorkers } from '../fixtures/executorProcesses.ts';
import { finished, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
const tag = processTag();
const rows = 400;
let expected: { rows: number; sum: number };

beforeAll(async () => {
  let sum = 0;
  for (let id = 1; id <= rows; id++) sum = (sum + digest(id)) % 2 ** 32;
  expected = { rows, sum };
});

// Every worker a run started is gone once the CLI has exited: no orphan, no zombie.
afterEach(async () => {
  await waitFor(async () => taggedWorkers(tag).length === 0, 5000);
  const pids = await db.sql<{ pid: number }[]>`select distinct pid from runs`.catch(() => []);
  for (const { pid } of pids) expect(exists(pid), `worker ${pid} still exists`).toBe(false);
  await db.sql`truncate runs`.catch(() => {});
});

const args = (...more: string[]) => [
  'run',
  'test/fixtures/executorJob.ts',
  '--database-url',
  db.url,
  '--json',
  ...more,
];

async function runMode(name: string, executorFlag: string, env: Record<string, string> = {}) {
  const child = spawnSluice(args('--executor', executorFlag), {
    JOB_NAME: name,
    ROWS: String(rows),
    SLUICE_TEST_TAG: tag,
    ...env,
  });
  const result = await finished(child);
  expect(result.code, result.stderr).toBe(0);
  const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) as string);
  const attempts = await db.sql<
    { seq: number; pid: number; thread: number; started: number; finished: number }[]
  >`select seq, pid, thread, extract(epoch from started_at)::float8 as started,
           extract(epoch from finished_at)::float8 as finished
    from runs order by started_at`;
  return { summary, attempts, cliPid: child.pid as number };
}

/** The most attempts that overlapped in time. */
function mostAtOnce(attempts: { started: number; finished: number }[]): number {
  const edges = attempts.flatMap((a) => [
    { at: a.started, delta: 1 },
    { at: a.finished, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let now = 0;
  let most = 0;
  for (const edge of edges) {
    now += edge.delta;
    most = Math.max(most, now);
  }
  return most;
}

test('sequential runs one task at a time, in the CLI process', async () => {
  const { summary, attempts, cliPid } = await runMode('seq', 'sequential');
  expect(summary).toMatchObject({ status: 'done', result: expected });
  expect(attempts).toHaveLength(8);
  expect(new Set(attempts.map((a) => a.pid))).toEqual(new Set([cliPid]));
  expect(mostAtOnce(attempts)).toBe(1);
});

test('async runs tasks as async loops in the CLI process', async () => {
  const { summary, attempts, cliPid } = await runMode('async', 'async', { SLEEP_MS: '100' });
  expect(summary).toMatchObject({ status: 'done', result: expected });
  expect(new Set(attempts.map((a) => a.pid))).toEqual(new Set([cliPid]));
  expect(attempts.every((a) => a.thread === 0)).toBe(true);
  expect(mostAtOnce(attempts)).toBeGreaterThan(1);
});

test('thread runs tasks on a pool of worker threads', async () => {
  const { summary, attempts, cliPid } = await runMode('thread', 'thread:2', { SLEEP_MS: '100' });
  expect(summary).toMatchObject({ status: 'done', result: expected });
  expect(new Set(attempts.map((a) => a.pid))).toEqual(new Set([cliPid]));
  const threads = new Set(attempts.map((a) => a.thread));
  expect(threads.has(0)).toBe(false);
  expect(threads.size).toBe(2);
});

test('process runs tasks on a pool of child processes started up front', async () => {
  const { summary, attempts, cliPid } = await runMode('process', 'process:2', {
    SLEEP_MS: '100',
  });
  expect(summary).toMatchObject({ status: 'done', result: expected });
  const pids = new Set(attempts.map((a) => a.pid));
  expect(pids.has(cliPid)).toBe(false);
  expect(pids.size).toBe(2);
});

test('process with parallelism 0 runs every task in a fresh process', async () => {
  const { summary, attempts, cliPid } = await runMode('fresh', 'process:0');
  expect(summary).toMatchObject({ status: 'done', result: expected });
  const pids = new Set(attempts.map((a) => a.pid));
  expect(pids.has(cliPid)).toBe(false);
  expect(pids.size).toBe(attempts.length);
  expect(attempts).toHaveLength(8);
});

test('maxParallelism 2 holds with a pool of 4 processes, all 4 started', async () => {
  const child = spawnSluice(args('--executor', 'process:4'), {
    JOB_NAME: 'capped',
    CAP: '2',
    SLEEP_MS: '300',
    ROWS: String(rows),
    SLUICE_TEST_TAG: tag,
  });
  const done = finished(child);
  let most = 0;
  let poolSize = 0;
  let running = true;
  void done.then(() => {
    running = false;
  });
  while (running) {
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from sluice.tasks t join sluice.jobs j on j.id = t.job_id
      where j.name = 'capped' and t.status = 'running'`.catch(() => [{ n: 0 }]);
    most = Math.max(most, row?.n ?? 0);
    poolSize = Math.max(poolSize, taggedWorkers(tag).filter((w) => w.ppid === child.pid).length);
    await new Promise((wake) => setTimeout(wake, 20));
  }
  const result = await done;
  expect(result.code, result.stderr).toBe(0);
  expect(JSON.parse(result.stdout.trim().split('\n').at(-1) as string)).toMatchObject({
    status: 'done',
    result: expected,
  });
  expect(most).toBe(2);
  expect(poolSize).toBe(4);
  const attempts = await db.sql<{ started: number; finished: number }[]>`
    select extract(epoch from started_at)::float8 as started,
           extract(epoch from finished_at)::float8 as finished from runs`;
  expect(mostAtOnce(attempts)).toBeLessThanOrEqual(2);
});
