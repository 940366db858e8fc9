// A real network partition: two `sluice worker` processes on hosts of their own (network
// namespaces joined to the root namespace by veth links) reach PostgreSQL over those links. One
// link is cut while its worker runs a task. Needs root; on a machine without network namespaces
// this test FAILS, loudly, rather than passing without partitioning anything.
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type CliResult, finished, runSluice, waitFor } from '../support/cli.ts';
import { createHosts, type Host } from './network.ts';
import { startReachableServer } from './server.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
const job = 'test/fixtures/workerPartitionJob.ts';

let server: Awaited<ReturnType<typeof startReachableServer>>;
let network: Awaited<ReturnType<typeof createHosts>>;
let sql: Sql;
let logs: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'THE PARTITION TEST NEEDS ROOT to create network namespaces; it cannot run here',
    );
  }
  network = await createHosts(2);
  server = await startReachableServer();
  sql = postgres(server.urlVia('127.0.0.1'), { max: 2, onnotice: () => {} });
  logs = await mkdtemp(join(tmpdir(), 'sluice-partition-logs-'));
}, 60_000);

afterAll(async () => {
  // Namespaces and links first: they outlive the test process if left behind.
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await network?.remove();
  await sql?.end({ timeout: 1 }).catch(() => {});
  await server?.stop();
  if (logs) await rm(logs, { recursive: true, force: true });
});

/** Starts `sluice worker` on a host: its only way to the database is the host's link. */
function workerOn(
  host: Host,
  env: Record<string, string>,
): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      host.namespace,
      process.execPath,
      bin,
      'worker',
      job,
      '--concurrency',
      '1',
      '--exit-when-done',
      '--json',
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        SLUICE_STATE_URL: undefined,
        DATABASE_URL: server.urlVia(host.gateway),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  if (process.env.PARTITION_DEBUG) {
    child.stderr?.on('data', (chunk) =>
      appendFileSync(process.env.PARTITION_DEBUG as string, `[${host.namespace}] ${chunk}`),
    );
  }
  return { child, done: finished(child) };
}

test('a cut-off worker’s task is reclaimed within seconds; its late completion is refused; the job completes and reduces once', async () => {
  const [stalledHost, healthyHost] = network.hosts as [Host, Host];
  await sql`create table items (id int primary key, amount int not null)`;
  await sql`insert into items select g, g * 10 from generate_series(1, 8) g`;
  await sql`create table visits (seq int not null, pid int not null, attempt int not null,
    at timestamptz not null default clock_timestamp())`;
  const staleLog = join(logs, 'stale.log');
  const reduceLog = join(logs, 'reduce.log');
  const env = { JOB_NAME: 'partitioned', REDUCE_LOG: reduceLog, TASK_MS: '300' };

  const planned = await runSluice(['run', job, '--detach'], {
    ...env,
    DATABASE_URL: server.urlVia('127.0.0.1'),
  });
  expect(planned.code, planned.stderr).toBe(0);

  const stalled = workerOn(stalledHost, { ...env, STALL_MS: '15000', STALE_LOG: staleLog });
  await waitFor(
    async () =>
      (await sql`select 1 from visits where pid = ${stalled.child.pid as number}`).length > 0,
    30_000,
  );
  const healthy = workerOn(healthyHost, env);
  const [{ seq: stalledSeq } = { seq: -1 }] = await sql<{ seq: number }[]>`
    select seq from visits where pid = ${stalled.child.pid as number}`;

  const cutAt = Date.now();
  await stalledHost.cut();

  // Another worker runs the stalled task again, within seconds.
  await waitFor(
    async () =>
      (
        await sql`select 1 from visits where seq = ${stalledSeq} and pid <> ${stalled.child.pid as number}`
      ).length > 0,
    30_000,
    50,
  );
  const reclaimSeconds = (Date.now() - cutAt) / 1000;
  console.log(
    `partition: task ${stalledSeq} restarted on the other host ${reclaimSeconds.toFixed(1)} s after the cut`,
  );
  expect(reclaimSeconds).toBeLessThan(12);

  const healthyResult = await healthy.done;
  expect(healthyResult.code, healthyResult.stderr).toBe(0);
  const [job1] = await sql<
    { status: string; result: number }[]
  >`select status, result from sluice.jobs where name = 'partitioned'`;
  expect(job1).toEqual({ status: 'done', result: 360 });

  // The link comes back while the cut-off worker is still inside its task; then it finishes it.
  expect(Date.now() - cutAt).toBeLessThan(14_000);
  await stalledHost.heal();
  const stalledResult = await stalled.done;
  const staleFinished = (await readFile(staleLog, 'utf8').catch(() => '')).trim();
  expect(staleFinished, stalledResult.stderr).toBe(String(stalledSeq));
  expect(stalledResult.stderr).toContain(
    `task ${stalledSeq} finished after another worker took it over; its result was refused`,
  );
  expect(stalledResult.code, stalledResult.stderr).toBe(0);

  // From the database: every task completed once, the stalled one by the other worker.
  const tasks = await sql<{ seq: number; status: string; attempts: number; pid: number }[]>`
    select t.seq, t.status, t.attempts, (t.report->>'pid')::int as pid
    from sluice.tasks t join sluice.jobs j on j.id = t.job_id where j.name = 'partitioned' order by t.seq`;
  expect(tasks).toHaveLength(8);
  for (const task of tasks) {
    expect(task.status).toBe('done');
    expect(task.attempts).toBe(task.seq === stalledSeq ? 2 : 1);
    expect(task.pid).toBe(task.seq === stalledSeq ? healthy.child.pid : task.pid);
  }
  expect(tasks.find((t) => t.seq === stalledSeq)?.pid).toBe(healthy.child.pid);
  const [visits] = await sql<{ n: number }[]>`select count(*)::int as n from visits`;
  expect(visits?.n).toBe(9);
  // The job was reduced once, by one process, and its result is exact; nothing changed it after.
  const reductions = (await readFile(reduceLog, 'utf8')).trim().split('\n');
  expect(reductions).toHaveLength(1);
  const [job2] = await sql<
    { status: string; result: number }[]
  >`select status, result from sluice.jobs where name = 'partitioned'`;
  expect(job2).toEqual({ status: 'done', result: 360 });
}, 120_000);
