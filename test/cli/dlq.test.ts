import { resolve } from 'node:path';
import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
const job = 'test/fixtures/dlqJob.ts';
// 30 items in chunks of 10: 7 always fails, 15 is permanent, 22 is refused by retryIf, 9 is flaky.
const env = { JOB_NAME: 'poisoned', POISON: '7', PERMANENT: '15', NOT_RETRYABLE: '22', FLAKY: '9' };

const sluice = (args: string[], extra: Record<string, string> = {}) =>
  runSluice([...args, '--database-url', db.url], { ...env, ...extra });
const letters = (name: string) =>
  db.sql`select d.item_key, d.payload, d.error, d.error_stack, d.attempts, d.first_failed_at, d.last_failed_at
      from sluice.dead_letters d join sluice.jobs j on j.id = d.job_id
      where j.name = ${name} order by d.item_key`;
const tries = async (n: number) =>
  (await db.sql<{ attempt: number }[]>`select attempt from tries where n = ${n} order by at`).map(
    (r) => r.attempt,
  );

test('poisoned items become dead letters and the batch goes on', async () => {
  const run = await sluice(['run', job, '--json']);
  expect(run.code, run.stderr).toBe(3);
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
  expect(summary).toMatchObject({ status: 'failed', total: 30, done: 27, failed: 3 });
  // Every chunk finished, the poisoned ones included, and every other item ran.
  expect(summary.tasks).toEqual({ total: 3, done: 3, failed: 0 });
  const [ran] = await db.sql`select count(distinct n)::int as n from tries`;
  expect(ran?.n).toBe(30);

  const rows = await letters('poisoned');
  expect(rows.map((r) => [r.item_key, r.attempts])).toEqual([
    ['item-15', 1], // PermanentError: no retry
    ['item-22', 1], // retryIf said no
    ['item-7', 3], // retry.attempts
  ]);
  const seven = rows[2];
  expect(seven?.payload).toEqual({ id: 'item-7', n: 7 });
  expect(seven?.error).toBe('item 7 is corrupt');
  expect(seven?.error_stack).toContain('dlqJob.ts');
  expect(seven?.first_failed_at).toBeInstanceOf(Date);
  expect(seven?.last_failed_at.getTime()).toBeGreaterThanOrEqual(seven?.first_failed_at.getTime());
  expect(rows[0]?.error).toBe('item 15 is gone');

  expect(await tries(7)).toEqual([1, 2, 3]);
  expect(await tries(15)).toEqual([1]);
  expect(await tries(22)).toEqual([1]);
  // Failed once, then succeeded: no dead letter.
  expect(await tries(9)).toEqual([1, 2]);

  // The job list counts the failed items, though no task failed, and the dead letters.
  const status = await sluice(['status']);
  expect(status.stdout).toMatch(/^JOB +STATUS +PROGRESS +FAILED +DEAD +RATE\/S +ETA /);
  expect(status.stdout).toMatch(/^poisoned +failed +30\/30 100% +3 +3 +[\d,]+ +- /m);
});

test('dlq list, show and --json', async () => {
  const list = await sluice(['dlq', 'list', 'poisoned']);
  expect(list.code, list.stderr).toBe(0);
  const lines = list.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^KEY\s+ATTEMPTS\s+LAST FAILED\s+LAST ERROR$/);
  expect(lines.find((l) => l.startsWith('item-7 '))).toMatch(
    /^item-7\s+3\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+item 7 is corrupt$/,
  );
  expect(lines.at(-1)).toBe('3 dead letter(s) in poisoned');

  const json = await sluice(['dlq', 'list', 'poisoned', '--json', '--limit', '2']);
  const listed = JSON.parse(json.stdout);
  expect(listed.total).toBe(3);
  expect(listed.deadLetters.map((l: { key: string }) => l.key)).toEqual(['item-15', 'item-22']);

  const show = await sluice(['dlq', 'show', 'poisoned', 'item-7']);
  expect(show.code, show.stderr).toBe(0);
  expect(show.stdout).toContain('key:           item-7');
  expect(show.stdout).toContain('attempts:      3');
  expect(show.stdout).toContain('error:         item 7 is corrupt');
  expect(show.stdout).toContain('"id": "item-7"');
  expect(show.stdout).toMatch(/stack:\nError: item 7 is corrupt\n\s+at .*dlqJob\.ts/);

  const missing = await sluice(['dlq', 'show', 'poisoned', 'item-8']);
  expect(missing.code).toBe(2);
  expect(missing.stderr.trim()).toBe(
    'sluice: No dead letter `item-8` in job `poisoned`; `sluice dlq list poisoned` lists them',
  );
});

test('replay with the failure still there keeps the letters, with their attempts added', async () => {
  const [before] = await letters('poisoned');
  const replay = await sluice(['dlq', 'replay', 'poisoned']);
  expect(replay.code, replay.stderr).toBe(3);
  expect(replay.stderr).toContain('Replaying 3 dead letter(s) of poisoned in 3 task(s)');
  expect(replay.stdout).toContain('Batch complete: 27/30 items, 3 failed (10.0%)');
  const rows = await letters('poisoned');
  expect(rows.map((r) => [r.item_key, r.attempts])).toEqual([
    ['item-15', 2],
    ['item-22', 2],
    ['item-7', 6],
  ]);
  expect(rows[0]?.first_failed_at).toEqual(before?.first_failed_at);
  expect(rows[0]?.last_failed_at.getTime()).toBeGreaterThan(before?.last_failed_at.getTime());
  // Only the dead letters ran again.
  expect(await tries(7)).toEqual([1, 2, 3, 1, 2, 3]);
  expect(await tries(8)).toEqual([1]);
});

test('replay with the fix deployed empties the table and finishes the job', async () => {
  const replay = await sluice(['dlq', 'replay', job, '--json'], { FIXED: '1' });
  expect(replay.code, replay.stderr).toBe(0);
  const lines = replay.stdout.trim().split('\n');
  const summary = JSON.parse(lines.at(-1) as string);
  expect(summary).toMatchObject({ status: 'done', total: 30, done: 30, failed: 0 });
  // The outcomes streamed before the summary: one per replayed item.
  expect(
    lines
      .slice(0, -1)
      .map((l) => JSON.parse(l).item.id)
      .sort(),
  ).toEqual(['item-15', 'item-22', 'item-7']);
  expect(await letters('poisoned')).toHaveLength(0);

  const again = await sluice(['dlq', 'replay', 'poisoned']);
  expect(again.code, again.stderr).toBe(0);
  expect(again.stdout.trim()).toBe('No dead letters to replay in poisoned');
  const list = await sluice(['dlq', 'list', 'poisoned']);
  expect(list.stdout.trim()).toBe('No dead letters in poisoned');
});

test('a whole chunk that throws: retried by the same policy, then each item is a dead letter', async () => {
  const plain = await sluice(['run', job, '--json'], {
    JOB_NAME: 'broken-setup',
    ITEMS: '4',
    CHUNK: '2',
    SETUP_ERROR: 'plain',
  });
  expect(plain.code, plain.stderr).toBe(3);
  const rows = await letters('broken-setup');
  expect(rows.map((r) => [r.item_key, r.attempts, r.error])).toEqual([
    ['item-1', 3, 'setup broke'],
    ['item-2', 3, 'setup broke'],
    ['item-3', 3, 'setup broke'],
    ['item-4', 3, 'setup broke'],
  ]);
  const [task] =
    await db.sql`select t.attempts from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = 'broken-setup' and t.seq = 0`;
  expect(task?.attempts).toBe(3);

  // retryIf refuses the error: one try per chunk.
  const malformed = await sluice(['run', job, '--json'], {
    JOB_NAME: 'malformed-setup',
    ITEMS: '4',
    CHUNK: '2',
    SETUP_ERROR: 'malformed',
  });
  expect(malformed.code, malformed.stderr).toBe(3);
  expect((await letters('malformed-setup')).map((r) => r.attempts)).toEqual([1, 1, 1, 1]);
});

test('dlq purge removes one key or all', async () => {
  const name = 'to-purge';
  const run = await sluice(['run', job], { JOB_NAME: name, ITEMS: '10', POISON: '1,2,3' });
  expect(run.code, run.stderr).toBe(3);
  const one = await sluice(['dlq', 'purge', name, '--key', 'item-2']);
  expect(one.code, one.stderr).toBe(0);
  expect(one.stdout.trim()).toBe(`Purged 1 dead letter(s) from ${name}`);
  expect((await letters(name)).map((r) => r.item_key)).toEqual(['item-1', 'item-3']);
  const all = await sluice(['dlq', 'purge', name]);
  expect(all.stdout.trim()).toBe(`Purged 2 dead letter(s) from ${name}`);
  expect(await letters(name)).toHaveLength(0);
});

test('bad input: one line, exit 2, nothing written', async () => {
  const [jobsBefore] = await db.sql`select count(*)::int as n from sluice.jobs`;
  const zero = await sluice(['run', job], { JOB_NAME: 'zero', ATTEMPTS: '0' });
  expect(zero.code).toBe(2);
  expect(zero.stderr.trim()).toBe(
    'sluice: Expected `retry.attempts` to be a whole number >= 1, got `0` (number)',
  );
  const [jobsAfter] = await db.sql`select count(*)::int as n from sluice.jobs`;
  expect(jobsAfter?.n).toBe(jobsBefore?.n);

  const unknown = await sluice(['dlq', 'list', 'no-such-job']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr.trim()).toBe(
    'sluice: No job named `no-such-job`; `sluice status` lists them',
  );
  const replayUnknown = await sluice(['dlq', 'replay', 'no-such-job']);
  expect(replayUnknown.code).toBe(2);
  expect(replayUnknown.stderr.trim().split('\n')).toHaveLength(1);

  // A job that `sluice run` never started has no module on record to replay with.
  await db.sql`update sluice.jobs set module = null where name = 'to-purge'`;
  const noModule = await sluice(['dlq', 'replay', 'to-purge']);
  expect(noModule.code).toBe(2);
  expect(noModule.stderr.trim()).toBe(
    'sluice: Job `to-purge` has no recorded module; give its path: sluice dlq replay <job.ts>',
  );

  const badSub = await sluice(['dlq', 'drop', 'poisoned']);
  expect(badSub.code).toBe(2);
  expect(badSub.stderr.trim()).toMatch(
    /^sluice: Expected a dlq subcommand \(list, show, purge, replay\), got `drop`; usage: /,
  );
});

test('replay by name refuses a recorded module that now defines another job, writing nothing', async () => {
  const small = { ITEMS: '4', CHUNK: '2' };
  const first = await sluice(['run', job], { ...small, JOB_NAME: 'imp', POISON: '1' });
  expect(first.code, first.stderr).toBe(3);
  // The job is renamed in its file and run: the same module is now recorded for `imp2` too.
  const renamed = await sluice(['run', job], { ...small, JOB_NAME: 'imp2', POISON: '' });
  expect(renamed.code, renamed.stderr).toBe(0);
  const state = () => db.sql`
    select j.name, j.status, j.finished_at,
      (select json_agg(t.status order by t.seq) from sluice.tasks t where t.job_id = j.id) as tasks,
      (select json_agg(o.superseded) from sluice.outcomes o where o.job_id = j.id) as outcomes,
      (select count(*)::int from sluice.dead_letters d where d.job_id = j.id) as letters
    from sluice.jobs j where j.name in ('imp', 'imp2') order by j.name`;
  const before = await state();
  const [tried] = await db.sql`select count(*)::int as n from tries`;

  const replay = await sluice(['dlq', 'replay', 'imp'], { ...small, JOB_NAME: 'imp2' });
  expect(replay.code, replay.stderr).toBe(2);
  expect(replay.stderr.trim()).toBe(
    `sluice: \`${resolve(job)}\` now defines \`imp2\`, not \`imp\`; give the job's module: sluice dlq replay <job.ts>`,
  );
  expect(await state()).toEqual(before);
  const [triedAfter] = await db.sql`select count(*)::int as n from tries`;
  expect(triedAfter?.n).toBe(tried?.n);
});
