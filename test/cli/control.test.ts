import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { cancelJob, pauseJob, Store } from '../../src/index.ts';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 2 });
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-control-'));
  // The job creates it too; creating it here lets a test read it before the job starts.
  await db.sql`create table control_trace (
    seq int not null, pid int not null, attempt int not null,
    started_at timestamptz not null default clock_timestamp(), finished_at timestamptz)`;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const job = 'test/fixtures/controlJob.ts';
const run = (env: Record<string, string>, ...flags: string[]) =>
  spawnSluice(['run', job, '--database-url', db.url, ...flags], env);
const cli = (...args: string[]) => runSluice([...args, '--database-url', db.url]);

/** Resolves with the wall-clock time at which the child first prints a line matching `pattern`. */
function printedAt(child: ChildProcess, pattern: RegExp): Promise<number> {
  let seen = '';
  return new Promise((resolve) => {
    child.stderr?.on('data', (chunk) => {
      seen += chunk;
      if (pattern.test(seen)) resolve(Date.now());
    });
  });
}

/** The last line of --json output: chunk jobs stream their outcomes as lines before it. */
const summaryOf = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) ?? '');

/** Tasks of a job by status (none before the store exists). */
async function tasks(name: string) {
  const [schema] = await db.sql`select to_regclass('sluice.tasks') as t`;
  if (!schema?.t) return {} as Record<string, number>;
  const rows = await db.sql<{ status: string; n: number }[]>`
    select t.status, count(*)::int as n from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = ${name} group by t.status`;
  return Object.fromEntries(rows.map((row) => [row.status, row.n])) as Record<string, number>;
}

async function jobRow(name: string) {
  const [row] = await db.sql<
    { status: string; reason: string | null; changedAt: number; lastClaimAt: number }[]
  >`
    select j.status, j.status_reason as reason,
      extract(epoch from j.updated_at)::float8 * 1000 as "changedAt",
      (select extract(epoch from max(t.started_at))::float8 * 1000 from sluice.tasks t
       where t.job_id = j.id) as "lastClaimAt"
    from sluice.jobs j where j.name = ${name}`;
  return row;
}

test('sluice pause stops a running sluice run within 2 s: running chunks finish, none is claimed after', async () => {
  const env = { JOB_NAME: 'paused', SLEEP_MS: '400', CAP: '2', ITEMS: '300' };
  const child = run(env);
  const done = finished(child);
  const noticed = printedAt(child, /Job paused is paused/);
  await waitFor(async () => ((await tasks('paused')).done ?? 0) >= 4);

  const paused = await cli('pause', 'paused');
  expect(paused.code, paused.stderr).toBe(0);
  expect(paused.stdout).toContain('Paused paused: running tasks finish and no new ones start');
  const result = await done;
  expect(result.code, result.stderr).toBe(6);
  expect(result.stdout).toContain('Job paused is paused (paused by `sluice pause`)');
  expect(result.stdout).toMatch(/Batch paused: \d+\/300 items/);

  const row = await jobRow('paused');
  expect(row?.status).toBe('paused');
  const reachedMs = (await noticed) - (row?.changedAt ?? 0);
  console.log(`pause reached the running process ${Math.round(reachedMs)} ms after it committed`);
  expect(reachedMs).toBeLessThan(2000);
  // The store refuses claims for a job that is not running, so the last claim precedes the pause.
  expect(row?.lastClaimAt).toBeLessThanOrEqual(row?.changedAt ?? 0);
  // Chunks running at the pause finished; nothing is left running; the rest waits.
  const [unfinished] =
    await db.sql`select count(*)::int as n from control_trace where finished_at is null`;
  expect(unfinished?.n).toBe(0);
  const counts = await tasks('paused');
  expect(counts.running).toBeUndefined();
  expect(counts.pending).toBeGreaterThan(0);

  // Running it again does not resume it silently.
  const again = await runSluice(['run', job, '--database-url', db.url], env);
  expect(again.code, again.stderr).toBe(6);
  expect(again.stdout).toContain('`sluice resume paused` then run it again');
  expect(await tasks('paused')).toEqual(counts);

  const resumed = await cli('resume', 'paused');
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(resumed.stdout).toContain('Resumed paused');
  const rest = await runSluice(['run', job, '--database-url', db.url, '--json'], {
    ...env,
    SLEEP_MS: '0',
  });
  expect(rest.code, rest.stderr).toBe(0);
  expect(summaryOf(rest.stdout)).toMatchObject({ status: 'done', done: 300, result: 300 });
});

test('two processes on one job both see a pause within 2 s, and a paused job can be cancelled', async () => {
  const env = { JOB_NAME: 'shared', SLEEP_MS: '400', CAP: '4', ITEMS: '600' };
  const since = new Date();
  const children = [run(env, '--concurrency', '2'), run(env, '--concurrency', '2')];
  const results = children.map(finished);
  const noticed = children.map((child) => printedAt(child, /Job shared is paused/));
  // Both processes are running chunks.
  await waitFor(async () => {
    const [row] = await db.sql`
      select count(distinct pid)::int as n from control_trace where started_at >= ${since}`;
    return row?.n === 2;
  });

  const store = await Store.open(db.url);
  try {
    const before = Date.now();
    expect(await pauseJob(store, 'shared')).toMatchObject({ status: 'paused', changed: true });
    const delays = (await Promise.all(noticed)).map((at) => at - before);
    console.log(`pause reached two processes after ${delays.map(Math.round).join(' and ')} ms`);
    for (const delay of delays) expect(delay).toBeLessThan(2000);
    for (const result of await Promise.all(results)) expect(result.code, result.stderr).toBe(6);
    const row = await jobRow('shared');
    expect(row?.lastClaimAt).toBeLessThanOrEqual(row?.changedAt ?? 0);
    expect((await tasks('shared')).running).toBeUndefined();

    expect(await cancelJob(store, 'shared')).toMatchObject({
      previous: 'paused',
      status: 'cancelled',
      changed: true,
    });
    expect(await pauseJob(store, 'nope').catch((error: Error) => error.message)).toBe(
      'No job named `nope`; `sluice status` lists them',
    );
  } finally {
    await store.close();
  }
});

test('a status change that sends no notification is still seen within 2 s, by the poll', async () => {
  const env = { JOB_NAME: 'polled', SLEEP_MS: '300', CAP: '2', ITEMS: '300' };
  const child = run(env);
  const done = finished(child);
  const noticed = printedAt(child, /Job polled is paused/);
  await waitFor(async () => ((await tasks('polled')).done ?? 0) >= 2);
  const before = Date.now();
  // Straight to the table: no pg_notify, so only the poll can see it.
  await db.sql`update sluice.jobs set status = 'paused', status_reason = 'by hand', stopped_by = 'user'
            where name = 'polled'`;
  const delay = (await noticed) - before;
  console.log(`an unannounced pause was seen after ${Math.round(delay)} ms`);
  expect(delay).toBeLessThan(2000);
  expect((await done).code).toBe(6);
});

test('sluice cancel aborts running chunks through their signal; the job ends cancelled with finished reports kept', async () => {
  const abortFile = join(dir, 'cancel.aborts');
  const env = {
    JOB_NAME: 'cancelled',
    CAP: '2',
    ITEMS: '100',
    SLOW_FROM: '4',
    SLOW_MS: '30000',
    ABORT_FILE: abortFile,
  };
  const child = run(env);
  const done = finished(child);
  await waitFor(async () => {
    const counts = await tasks('cancelled');
    return counts.done === 4 && counts.running === 2;
  });
  const cancelledAt = Date.now();
  const cancel = await cli('cancel', 'cancelled');
  expect(cancel.code, cancel.stderr).toBe(0);
  expect(cancel.stdout).toContain('Cancelled cancelled: running tasks are aborted');
  const result = await done;
  expect(result.code, result.stderr).toBe(5);
  expect(Date.now() - cancelledAt).toBeLessThan(10_000);
  expect(result.stderr).toContain('Job cancelled is cancelled');
  // The partial result: the four chunks that finished, ten items each.
  expect(result.stdout).toContain('Batch cancelled: 40/100 items');
  expect(result.stdout).toMatch(/^40$/m);

  // Both running chunks saw their AbortSignal fire, with the job's stop as the reason.
  const aborts = (await readFile(abortFile, 'utf8')).trim().split('\n').sort();
  expect(aborts).toEqual(['4 1 JobStoppedError', '5 1 JobStoppedError']);
  expect(await tasks('cancelled')).toEqual({ done: 4, pending: 6 });
  const [reports] = await db.sql`
    select count(*)::int as n from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = 'cancelled' and t.report is not null`;
  expect(reports?.n).toBe(4);

  const status = await cli('status', 'cancelled');
  expect(status.stdout).toContain('cancelled: cancelled (cancelled by `sluice cancel`)');
  expect(status.stdout).toContain('tasks: 4/10 done');

  // A finished job cannot be paused; an unknown one is bad input. One line each, exit 2.
  const refused = await cli('pause', 'cancelled');
  expect(refused.code).toBe(2);
  expect(refused.stderr.trim()).toBe(
    'sluice: Job `cancelled` is cancelled; only a running job can be paused',
  );
  const unknown = await cli('cancel', 'no-such-job');
  expect(unknown.code).toBe(2);
  expect(unknown.stderr.trim()).toBe(
    'sluice: No job named `no-such-job`; `sluice status` lists them',
  );
});

test('timeout: an attempt that runs too long is aborted and fails with a clear error, then retried', async () => {
  const abortFile = join(dir, 'timeout.aborts');
  const env = {
    JOB_NAME: 'timed',
    ITEMS: '30',
    SLOW_FROM: '2',
    SLOW_MS: '20000',
    TIMEOUT: '300',
    ATTEMPTS: '2',
    ABORT_FILE: abortFile,
  };
  const started = Date.now();
  const result = await runSluice(['run', job, '--database-url', db.url], env);
  expect(result.code, result.stderr).toBe(3);
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(result.stderr).toContain('attempt 1 failed: Task 2 timed out after 300 ms');
  expect(result.stderr).toContain('failed after 2 attempts: Task 2 timed out after 300 ms');
  expect(result.stdout).toContain('Batch complete: 20/30 items, 10 failed');
  const aborts = (await readFile(abortFile, 'utf8')).trim().split('\n');
  expect(aborts).toEqual(['2 1 TaskTimeoutError', '2 2 TaskTimeoutError']);
  const status = await cli('status', 'timed');
  expect(status.stdout).toContain('Task 2 timed out after 300 ms');
});

test('deadline: claiming stops, the running chunk is aborted and the job fails; resume finishes it', async () => {
  const abortFile = join(dir, 'deadline.aborts');
  const env = {
    JOB_NAME: 'late',
    CAP: '1',
    ITEMS: '100',
    // Two quick chunks finish well before the deadline; the third waits 20 s, so it is surely
    // running when the deadline passes, however slowly the run started.
    SLEEP_MS: '0',
    SLOW_FROM: '2',
    SLOW_MS: '20000',
    DEADLINE: '2500',
    ABORT_FILE: abortFile,
  };
  const result = await runSluice(['run', job, '--database-url', db.url], env);
  expect(result.code, result.stderr).toBe(7);
  expect(result.stdout).toContain('Job late failed: Job late passed its deadline of 2500 ms');
  expect(result.stdout).toMatch(/Batch aborted: \d+\/100 items/);
  expect((await readFile(abortFile, 'utf8')).trim().split('\n')).toHaveLength(1);
  const row = await jobRow('late');
  expect(row).toMatchObject({
    status: 'failed',
    reason: 'Job late passed its deadline of 2500 ms',
  });
  const counts = await tasks('late');
  expect(counts.running).toBeUndefined();
  expect(counts.done).toBeGreaterThanOrEqual(2);
  expect(counts.pending).toBeGreaterThan(0);

  expect((await cli('resume', 'late')).code).toBe(0);
  const rest = await runSluice(['run', job, '--database-url', db.url, '--json'], {
    JOB_NAME: 'late',
    ITEMS: '100',
  });
  expect(rest.code, rest.stderr).toBe(0);
  expect(summaryOf(rest.stdout)).toMatchObject({ status: 'done', done: 100 });
});

test('a bad timeout or deadline is refused with one line before anything is written', async () => {
  for (const [env, line] of [
    [
      { TIMEOUT: '0' },
      'Expected `timeout` to be a whole number of milliseconds >= 1, got `0` (number)',
    ],
    [
      { DEADLINE: '-5' },
      'Expected `deadline` to be a whole number of milliseconds >= 1, or a valid Date, got `-5` (number)',
    ],
  ] as const) {
    const result = await runSluice(['run', job, '--database-url', db.url], {
      JOB_NAME: 'refused',
      ...env,
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`sluice: ${line}`);
  }
  const [row] = await db.sql`select count(*)::int as n from sluice.jobs where name = 'refused'`;
  expect(row?.n).toBe(0);
});
