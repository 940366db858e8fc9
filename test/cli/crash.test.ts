import { afterAll, beforeAll, expect, test } from 'vitest';
import { finished, spawnSluice, waitFor } from '../support/cli.ts';
import { tracedDatabase } from '../support/traced.ts';

let db: Awaited<ReturnType<typeof tracedDatabase>>;
beforeAll(async () => {
  db = await tracedDatabase();
});
afterAll(() => db.close());

const expected = { total: 45150, n: 300 };

test('SIGKILL mid-run, then run again: the result is right and at most the cap ran twice', async () => {
  const env = { JOB_NAME: 'killed', CAP: '4', ROWS: '300', ROWS_PER_RANGE: '10', SLEEP_MS: '100' };
  const args = ['run', 'test/fixtures/tracedJob.ts', '--database-url', db.url, '--json'];
  const victim = spawnSluice(args, env);
  const victimDone = finished(victim);
  await waitFor(async () => (await db.attempts()).size >= 8);
  victim.kill('SIGKILL');
  expect((await victimDone).signal).toBe('SIGKILL');

  const rerun = await finished(spawnSluice(args, env));
  expect(rerun.code, rerun.stderr).toBe(0);
  expect(JSON.parse(rerun.stdout)).toMatchObject({ status: 'done', result: expected });

  const attempts = await db.attempts();
  expect(attempts.size).toBe(30);
  const twice = [...attempts.values()].filter((n) => n > 1);
  expect(twice.every((n) => n === 2)).toBe(true);
  expect(twice.length).toBeLessThanOrEqual(4);
});

test('a killed process’s tasks are taken over by a live one within 5 seconds', async () => {
  await db.sql`truncate trace`;
  const env = {
    JOB_NAME: 'takeover',
    CAP: '4',
    ROWS: '300',
    ROWS_PER_RANGE: '10',
    SLEEP_MS: '400',
  };
  const args = [
    'run',
    'test/fixtures/tracedJob.ts',
    '--database-url',
    db.url,
    '--json',
    '--concurrency',
    '2',
  ];
  const victim = spawnSluice(args, env);
  const victimDone = finished(victim);
  const survivor = spawnSluice(args, env);
  const survivorDone = finished(survivor);

  let orphaned: number[] = [];
  await waitFor(async () => {
    const rows = await db.sql<{ seq: number }[]>`
      select seq from trace where pid = ${victim.pid ?? 0} and finished_at is null`;
    orphaned = rows.map((row) => row.seq);
    return orphaned.length > 0;
  });
  const killedAt = Date.now();
  victim.kill('SIGKILL');
  await victimDone;

  await waitFor(async () => {
    const [row] = await db.sql<{ n: number }[]>`
      select count(distinct seq)::int as n from trace where pid = ${survivor.pid ?? 0} and seq = any(${orphaned})`;
    return row?.n === orphaned.length;
  }, 10_000);
  expect(Date.now() - killedAt).toBeLessThan(5000);

  const result = await survivorDone;
  expect(result.code, result.stderr).toBe(0);
  expect(JSON.parse(result.stdout)).toMatchObject({ status: 'done', result: expected });
  const [stats] = await db.sql<{ done: number; open: number }[]>`
    select count(*) filter (where t.status = 'done')::int as done,
           count(*) filter (where t.status <> 'done')::int as open
    from sluice.tasks t join sluice.jobs j on j.id = t.job_id where j.name = 'takeover'`;
  expect(stats).toEqual({ done: 30, open: 0 });
});
