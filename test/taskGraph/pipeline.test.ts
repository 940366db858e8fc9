import { expect, test } from 'vitest';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 2 });

const args = () => ['run', 'test/fixtures/pipelineJob.ts', '--database-url', db.url, '--json'];

/** Tasks of a job by stage, as the store holds them. */
async function stageTasks(job: string) {
  return db.sql<
    { seq: number; stage: string; status: string; startedAt: Date; finishedAt: Date }[]
  >`
    select t.seq, coalesce(t.stage, 'extract') as stage, t.status, t.started_at as "startedAt",
      t.finished_at as "finishedAt"
    from sluice.tasks t join sluice.jobs j on j.id = t.job_id where j.name = ${job} order by t.seq`;
}

/** Every source id that reached the load stage, once per time it did. */
async function loadedIds(job: string): Promise<number[]> {
  const rows = await db.sql<{ id: number }[]>`
    select (row->>'id')::int as id
    from sluice.tasks t join sluice.jobs j on j.id = t.job_id, jsonb_array_elements(t.payload) row
    where j.name = ${job} and t.stage = 'load'`;
  return rows.map((r) => r.id).sort((a, b) => a - b);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test('each batch flows through every stage once, and transform starts before extract ends', async () => {
  const env = { JOB_NAME: 'flow', ROWS: '200', ROWS_PER_RANGE: '10', EXTRACT_MS: '150', CAP: '3' };
  const run = await runSluice(args(), env);
  expect(run.code, run.stderr).toBe(0);
  const summary = JSON.parse(run.stdout);
  expect(summary).toMatchObject({ status: 'done', total: 200, done: 200 });
  expect(summary.result).toEqual({ loaded: 200, sum: 200 * 201 });

  const tasks = await stageTasks('flow');
  for (const name of ['extract', 'transform', 'load']) {
    expect(tasks.filter((t) => t.stage === name && t.status === 'done')).toHaveLength(20);
  }
  const lastExtractDone = Math.max(
    ...tasks.filter((t) => t.stage === 'extract').map((t) => t.finishedAt.getTime()),
  );
  const firstTransform = Math.min(
    ...tasks.filter((t) => t.stage === 'transform').map((t) => t.startedAt.getTime()),
  );
  expect(firstTransform).toBeLessThan(lastExtractDone);
  expect(await loadedIds('flow')).toEqual(range(200));
  const [dest] = await db.sql<{ n: number; sum: number }[]>`
    select count(*)::int as n, sum(doubled)::int as sum from dest`;
  expect(dest).toEqual({ n: 200, sum: 200 * 201 });
});

test('SIGKILL mid-pipeline, then run again: each stage resumes where it was', async () => {
  await db.sql`drop table if exists stage_runs`;
  const env = {
    JOB_NAME: 'killed',
    ROWS: '300',
    ROWS_PER_RANGE: '10',
    EXTRACT_MS: '150',
    CAP: '3',
  };
  const victim = spawnSluice(args(), env);
  const victimDone = finished(victim);
  await waitFor(async () => {
    const tasks = await stageTasks('killed').catch(() => []);
    return tasks.filter((t) => t.stage === 'load' && t.status === 'done').length >= 3;
  });
  victim.kill('SIGKILL');
  expect((await victimDone).signal).toBe('SIGKILL');
  const [{ killedAt } = { killedAt: new Date() }] = await db.sql<{ killedAt: Date }[]>`
    select clock_timestamp() as "killedAt"`;
  const before = await stageTasks('killed');
  const doneBefore = before.filter((t) => t.status === 'done').map((t) => t.seq);
  expect(before.some((t) => t.stage === 'extract' && t.status === 'pending')).toBe(true);

  const rerun = await runSluice(args(), env);
  expect(rerun.code, rerun.stderr).toBe(0);
  expect(JSON.parse(rerun.stdout).result).toEqual({ loaded: 300, sum: 300 * 301 });

  const after = await stageTasks('killed');
  for (const name of ['extract', 'transform', 'load']) {
    expect(after.filter((t) => t.stage === name && t.status === 'done')).toHaveLength(30);
  }
  // No task that had completed before the kill ran again.
  const rerunOfDone = await db.sql`
    select seq from stage_runs where seq = any(${doneBefore}) and started_at > ${killedAt}`;
  expect(rerunOfDone).toHaveLength(0);
  // Only the tasks cut off by the kill (at most the cap) ran twice.
  const twice = await db.sql`select seq from stage_runs group by seq having count(*) > 1`;
  expect(twice.length).toBeLessThanOrEqual(3);
  expect(await loadedIds('killed')).toEqual(range(300));
});

test('duplicate stage names are refused before anything is written', async () => {
  await db.sql`drop schema if exists sluice cascade`;
  const run = await runSluice(args(), { JOB_NAME: 'dup', DUPLICATE_STAGE: '1' });
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr.trim()).toBe('sluice: Expected stage names to be unique, got `load` twice');
  const [found] = await db.sql`select to_regclass('sluice.jobs') as t`;
  expect(found?.t).toBeNull();
});
