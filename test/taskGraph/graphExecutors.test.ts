import { beforeEach, expect, test } from 'vitest';
import { finished, spawnSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase();

beforeEach(async () => {
  await db.sql`drop table if exists src, dest, stage_runs, child_runs, fan_ins`;
});

/** Runs a fixture in an executor mode; its summary, and the CLI's own pid. */
async function run(fixture: string, name: string, executor: string) {
  const child = spawnSluice(
    ['run', `test/fixtures/${fixture}`, '--database-url', db.url, '--json', '--executor', executor],
    { JOB_NAME: name },
  );
  const result = await finished(child);
  expect(result.code, result.stderr).toBe(0);
  return { summary: JSON.parse(result.stdout), cliPid: child.pid as number };
}

for (const executor of ['thread:2', 'process:2']) {
  test(`a pipeline runs every stage in ${executor} workers; the coordinator writes each stage's outputs`, async () => {
    const { summary, cliPid } = await run('pipelineJob.ts', `pipeline-${executor}`, executor);
    expect(summary).toMatchObject({ status: 'done', result: { loaded: 100, sum: 10100 } });
    const [dest] = await db.sql`select count(*)::int as n, sum(doubled)::int as sum from dest`;
    expect(dest).toEqual({ n: 100, sum: 10100 });
    const runs = await db.sql<{ stage: string; n: number; pids: number[] }[]>`
      select stage, count(*)::int as n, array_agg(distinct pid) as pids
      from stage_runs group by stage order by stage`;
    expect(runs.map((r) => [r.stage, r.n])).toEqual([
      ['extract', 10],
      ['load', 10],
      ['transform', 10],
    ]);
    // Threads share the CLI's pid; processes each have their own.
    for (const { pids } of runs) {
      if (executor === 'thread:2') expect(pids).toEqual([cliPid]);
      else expect(pids).not.toContain(cliPid);
    }
  });
}

test('a fan-out runs its parents, children and fan-ins in process workers, each fan-in once', async () => {
  const { summary, cliPid } = await run('fanOutJob.ts', 'fan-out-process', 'process:2');
  expect(summary).toMatchObject({ status: 'done', result: { parents: 4, ok: 24, failed: 0 } });
  const fanIns = await db.sql<{ parent: number; n: number; pid: number }[]>`
    select parent, jsonb_array_length(children)::int as n, pid from fan_ins order by parent`;
  expect(fanIns.map((f) => [f.parent, f.n])).toEqual([
    [1, 6],
    [2, 6],
    [3, 6],
    [4, 6],
  ]);
  const pids = await db.sql<{ pid: number }[]>`
    select distinct pid from child_runs union select distinct pid from fan_ins`;
  expect(pids.map((p) => p.pid)).not.toContain(cliPid);
  expect(pids.length).toBeLessThanOrEqual(2);
});

for (const executor of ['async', 'thread:2']) {
  test(`a pipeline over a cursor source (${executor}) takes every page through both stages`, async () => {
    const { summary } = await run('cursorPipelineJob.ts', `cursor-pipeline-${executor}`, executor);
    expect(summary).toMatchObject({ status: 'done', result: { sum: 10100, count: 100 } });
  });
}
