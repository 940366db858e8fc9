// `sluice prune`: ended jobs older than a cutoff go, with their tasks, outcomes and dead letters;
// running and paused jobs stay, and naming one is refused.
import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
const sluice = (args: string[], env: Record<string, string> = {}) =>
  runSluice([...args, '--database-url', db.url], env);

/** Rows each table holds for the job, read by SQL, not by sluice. */
async function held(name: string) {
  const [row] = await db.sql<{ jobs: number; tasks: number; outcomes: number; dead: number }[]>`
    select (select count(*) from sluice.jobs where name = ${name})::int as jobs,
      (select count(*) from sluice.tasks t join sluice.jobs j on j.id = t.job_id where j.name = ${name})::int as tasks,
      (select count(*) from sluice.outcomes o join sluice.jobs j on j.id = o.job_id where j.name = ${name})::int as outcomes,
      (select count(*) from sluice.dead_letters d join sluice.jobs j on j.id = d.job_id where j.name = ${name})::int as dead`;
  return row;
}

const endedAgo = (name: string, days: number) =>
  db.sql`update sluice.jobs set finished_at = now() - make_interval(days => ${days}) where name = ${name}`;

test('prune deletes ended jobs older than the cutoff, and only those', async () => {
  // Two ended jobs with outcomes and dead letters (30 items, 3 poisoned), one paused job.
  const poisoned = { POISON: '7', PERMANENT: '15', NOT_RETRYABLE: '22', FLAKY: '9' };
  for (const name of ['old-job', 'new-job']) {
    const run = await sluice(['run', 'test/fixtures/dlqJob.ts'], { ...poisoned, JOB_NAME: name });
    expect(run.code, run.stderr).toBe(3);
  }
  const planned = await sluice(['run', 'test/fixtures/tracedJob.ts', '--detach'], {
    JOB_NAME: 'held-job',
    ROWS: '20',
  });
  expect(planned.code, planned.stderr).toBe(0);
  expect((await sluice(['pause', 'held-job'])).code).toBe(0);
  await endedAgo('old-job', 10);
  await endedAgo('new-job', 2);
  const before = await held('old-job');
  expect(before).toEqual({ jobs: 1, tasks: 3, outcomes: 30, dead: 3 });

  const dry = await sluice(['prune', '--finished-before', '7d', '--dry-run']);
  expect(dry.code, dry.stderr).toBe(0);
  expect(dry.stdout).toMatch(
    /^Would delete old-job \(failed, ended [\dT:.Z-]+\): 3 tasks, 30 outcomes, 3 dead letters$/m,
  );
  expect(dry.stdout).not.toMatch(/new-job|held-job/);
  expect(await held('old-job')).toEqual(before);

  const json = await sluice(['prune', '--finished-before', '1d', '--dry-run', '--json']);
  expect(JSON.parse(json.stdout)).toMatchObject({
    dryRun: true,
    jobs: [{ name: 'old-job' }, { name: 'new-job' }],
    tasks: 6,
    outcomes: 60,
    deadLetters: 6,
  });

  const pruned = await sluice(['prune', '--finished-before', '7d']);
  expect(pruned.code, pruned.stderr).toBe(0);
  expect(pruned.stdout).toMatch(/^Pruned 1 job: 3 tasks, 30 outcomes, 3 dead letters$/m);
  expect(await held('old-job')).toEqual({ jobs: 0, tasks: 0, outcomes: 0, dead: 0 });
  // The store's own rollups of the job, and its outcomes (no foreign key since 0018), went too.
  const [orphans] = await db.sql<{ n: number }[]>`
    select ((select count(*) from sluice.task_counts c
             where not exists (select 1 from sluice.jobs j where j.id = c.job_id))
      + (select count(*) from sluice.task_throughput r
         where not exists (select 1 from sluice.jobs j where j.id = r.job_id))
      + (select count(*) from sluice.outcomes o
         where not exists (select 1 from sluice.jobs j where j.id = o.job_id)))::int as n`;
  expect(orphans?.n).toBe(0);
  expect(await held('new-job')).toEqual({ jobs: 1, tasks: 3, outcomes: 30, dead: 3 });
  expect((await held('held-job'))?.jobs).toBe(1);

  // Nothing old enough is left: the run says so and changes nothing.
  const again = await sluice(['prune', '--finished-before', '7d']);
  expect(again.stdout).toBe('No job ended more than 7d ago; nothing to prune\n');
});

test('prune refuses a paused job by name, a bad age and a missing one, changing nothing', async () => {
  const paused = await sluice(['prune', 'held-job', '--finished-before', '0s']);
  expect(paused.code).toBe(2);
  expect(paused.stderr).toBe(
    'sluice: Cannot prune held-job: it is paused; only done, failed and cancelled jobs are pruned\n',
  );
  const bad = await sluice(['prune', '--finished-before', '7 days']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(
    /^sluice: Expected `--finished-before` to be an age such as 30m, 12h, 7d or 2w, got `7 days`\n$/,
  );
  const missing = await sluice(['prune']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/--finished-before` is required/);
  expect((await held('held-job'))?.jobs).toBe(1);
  expect((await held('new-job'))?.jobs).toBe(1);
});
