import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-alert-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (env: Record<string, string>, ...flags: string[]) =>
  runSluice(['run', 'test/fixtures/alertJob.ts', '--database-url', db.url, ...flags], env);

/** What onAlert received, one object per call. */
async function alerts(file: string) {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

async function tasks(name: string) {
  const rows = await db.sql<{ status: string; n: number }[]>`
    select t.status, count(*)::int as n from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = ${name} group by t.status`;
  return Object.fromEntries(rows.map((row) => [row.status, row.n])) as Record<string, number>;
}

// Every tenth item fails: a failure rate of 10%, above the alert's 5% once 50 items are processed.
const failing = { FAIL_EVERY: '10', FAILURE_RATE: '0.05', MIN_ITEMS: '50', ITEMS: '200' };

test('warn: one warning line, onAlert called once with the metrics, and the job runs to the end', async () => {
  const alertFile = join(dir, 'warn.jsonl');
  const result = await run({
    ...failing,
    JOB_NAME: 'warned',
    ACTION: 'warn',
    ALERT_FILE: alertFile,
  });
  expect(result.code, result.stderr).toBe(3);
  const warnings = result.stderr.split('\n').filter((line) => line.startsWith('Warning:'));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(
    /^Warning: failure rate 10% > 5% after \d+ items; the job goes on \(alert action `warn`\)$/,
  );
  expect(result.stdout).toContain('Batch complete: 180/200 items, 20 failed (10.0%)');
  const calls = await alerts(alertFile);
  expect(calls).toHaveLength(1);
  expect(calls[0]).toMatchObject({ failed: calls[0].processed / 10, total: 200, action: 'warn' });
  expect(calls[0].processed).toBeGreaterThanOrEqual(50);
  expect(calls[0].failureRate).toBeCloseTo(0.1);
  expect(calls[0].elapsedMs).toBeGreaterThan(0);
  expect(calls[0].itemsPerSec).toBeGreaterThan(0);
});

test('pause: the job pauses with its reason in sluice status and exit 4; after a resume the alert counts afresh', async () => {
  const alertFile = join(dir, 'pause.jsonl');
  const env = {
    ...failing,
    JOB_NAME: 'alert-paused',
    ACTION: 'pause',
    // 100 chunks: each run trips the alert with dozens still pending, whatever the machine's
    // speed (with 20, a loaded resumed run once had none left when it tripped).
    ITEMS: '1000',
    SLEEP_MS: '100',
    ALERT_FILE: alertFile,
  };
  const result = await run(env);
  expect(result.code, result.stderr).toBe(4);
  expect(result.stderr).toMatch(/Warning: failure rate 10% > 5% after \d+ items; pausing the job/);
  expect(result.stdout).toMatch(
    /Job alert-paused is paused \(failure rate 10% > 5% after \d+ items\)/,
  );
  const status = await runSluice(['status', 'alert-paused', '--database-url', db.url]);
  expect(status.stdout).toMatch(/^alert-paused: paused \(failure rate 10% > 5% after \d+ items\)/);
  expect(status.stdout).toContain(
    'Resume it with `sluice resume alert-paused`, then `sluice run test/fixtures/alertJob.ts`',
  );
  const first = await tasks('alert-paused');
  expect(first.running).toBeUndefined();
  expect(first.pending).toBeGreaterThan(0);

  // Run again as is: still paused, nothing claimed.
  const again = await run(env);
  expect(again.code).toBe(4);
  expect(await tasks('alert-paused')).toEqual(first);

  // --resume resumes it; the alert counts only what finishes from then on, so it trips again
  // only after another 50 items, not at once.
  const resumed = await run(env, '--resume');
  expect(resumed.code, resumed.stderr).toBe(4);
  const calls = await alerts(alertFile);
  expect(calls).toHaveLength(2);
  expect(calls[1].processed).toBeGreaterThanOrEqual(50);
  expect(((await tasks('alert-paused')).done ?? 0) - (first.done ?? 0)).toBeGreaterThanOrEqual(5);

  // With the failures gone, sluice resume and one more run finish it.
  expect((await runSluice(['resume', 'alert-paused', '--database-url', db.url])).code).toBe(0);
  const rest = await run({ ...env, FAIL_EVERY: '0', SLEEP_MS: '0' });
  expect(rest.code, rest.stderr).toBe(3); // the items that failed before stay failed
  expect(await tasks('alert-paused')).toEqual({ done: 100 });
  expect(await alerts(alertFile)).toHaveLength(2);
});

test('abort: running chunks are aborted, the job fails with the reason, exit 4', async () => {
  const abortFile = join(dir, 'abort.aborted');
  const alertFile = join(dir, 'abort.jsonl');
  const env = {
    ...failing,
    JOB_NAME: 'alert-aborted',
    ACTION: 'abort',
    CAP: '3',
    // The first chunk, claimed first, waits 20 s: it is surely in flight when the abort lands,
    // however late the alert trips. The others take 100 ms each.
    FIRST_SLEEP_MS: '20000',
    SLEEP_MS: '100',
    ABORT_FILE: abortFile,
    ALERT_FILE: alertFile,
  };
  const result = await run(env);
  expect(result.code, result.stderr).toBe(4);
  expect(result.stderr).toMatch(/Warning: failure rate 10% > 5% after \d+ items; aborting the job/);
  expect(result.stdout).toMatch(/Job alert-aborted failed: failure rate 10% > 5% after \d+ items/);
  expect(result.stdout).toMatch(/Batch aborted: \d+\/200 items/);
  const [row] =
    await db.sql`select status, status_reason, stopped_by from sluice.jobs where name = 'alert-aborted'`;
  expect(row).toMatchObject({ status: 'failed', stopped_by: 'alert' });
  expect(row?.status_reason).toMatch(/^failure rate 10% > 5% after \d+ items$/);
  // The chunks in flight saw their AbortSignal, and went back to the queue untouched.
  const aborted = (await readFile(abortFile, 'utf8')).trim().split('\n');
  expect(aborted.length).toBeGreaterThanOrEqual(1);
  const counts = await tasks('alert-aborted');
  expect(counts.running).toBeUndefined();
  expect(counts.pending).toBeGreaterThanOrEqual(aborted.length);
  expect(await alerts(alertFile)).toHaveLength(1);
});

test('a failure rate outside 0 to 1, or an unknown action, is refused with one line and no job row', async () => {
  for (const [env, line] of [
    [
      { FAILURE_RATE: '1.5' },
      'Expected `alert.failureRate` to be a number from 0 to 1, got `1.5` (number)',
    ],
    [
      { FAILURE_RATE: '-0.1' },
      'Expected `alert.failureRate` to be a number from 0 to 1, got `-0.1` (number)',
    ],
    [
      { ACTION: 'panic' },
      'Expected `alert.action` to be `warn`, `pause` or `abort`, got `"panic"` (string)',
    ],
  ] as const) {
    const result = await run({ JOB_NAME: 'refused', ...env });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`sluice: ${line}`);
  }
  const [row] = await db.sql`select count(*)::int as n from sluice.jobs where name = 'refused'`;
  expect(row?.n).toBe(0);
});
