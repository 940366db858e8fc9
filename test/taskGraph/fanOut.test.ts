import { expect, test } from 'vitest';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 2 });

const args = () => ['run', 'test/fixtures/fanOutJob.ts', '--database-url', db.url, '--json'];

interface FanIn {
  parent: number;
  children: { kind: string; input: { n: number }; ok: boolean; report?: unknown; error?: string }[];
}

async function fanIns(): Promise<FanIn[]> {
  return db.sql<FanIn[]>`select parent, children from fan_ins order by parent`;
}

/** What each child must report, in the order its parent emitted them (see the fixture). */
function expectedChildren(parent: number, count: number) {
  return Array.from({ length: count }, (_, i) => {
    const n = parent * 100 + i;
    const kind = ['square', 'label', 'negate'][i % 3] as string;
    const value = kind === 'square' ? n * n : kind === 'label' ? `#${n}` : -n;
    return { kind, input: { n }, ok: true, report: { value } };
  });
}

test('SIGKILL while children run, then run again: each fan-in runs once, with every child', async () => {
  const env = { JOB_NAME: 'killed', PARENTS: '4', CHILDREN: '6', CHILD_MS: '300', CAP: '4' };
  const victim = spawnSluice(args(), env);
  const victimDone = finished(victim);
  await waitFor(async () => {
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from child_runs`.catch(() => [{ n: 0 }]);
    return (row?.n ?? 0) >= 6;
  });
  victim.kill('SIGKILL');
  expect((await victimDone).signal).toBe('SIGKILL');
  const [waiting] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from sluice.tasks where status = 'waiting'`;
  expect(waiting?.n).toBeGreaterThan(0);

  const rerun = await runSluice(args(), env);
  expect(rerun.code, rerun.stderr).toBe(0);
  expect(JSON.parse(rerun.stdout)).toMatchObject({
    status: 'done',
    total: 4,
    done: 4,
    result: { parents: 4, ok: 24, failed: 0 },
  });
  const rows = await fanIns();
  expect(rows.map((r) => r.parent)).toEqual([1, 2, 3, 4]);
  for (const row of rows) expect(row.children).toEqual(expectedChildren(row.parent, 6));
  // Children cut off by the kill ran again; none ran more than twice.
  const [runs] = await db.sql<{ distinct: number; most: number }[]>`
    select count(*)::int as distinct, max(n)::int as most
    from (select count(*) as n from child_runs group by n) per_child`;
  expect(runs).toEqual({ distinct: 24, most: expect.any(Number) });
  expect(runs?.most).toBeLessThanOrEqual(2);
});

test('children that fail for good reach the fan-in as failures, and the job fails', async () => {
  await db.sql`truncate fan_ins, child_runs`;
  const env = { JOB_NAME: 'failing', PARENTS: '3', CHILDREN: '6', FAIL_KIND: 'label' };
  const run = await runSluice(args(), env);
  expect(run.code, run.stderr).toBe(3);
  expect(JSON.parse(run.stdout)).toMatchObject({
    status: 'failed',
    result: { parents: 3, ok: 12, failed: 6 },
  });
  for (const row of await fanIns()) {
    const labels = row.children.filter((c) => c.kind === 'label');
    expect(labels).toHaveLength(2);
    for (const c of labels) {
      expect(c).toMatchObject({ ok: false, error: `label of ${c.input.n} is broken` });
    }
  }
  expect((await fanIns()).map((r) => r.parent)).toEqual([1, 2, 3]);

  // Once the handler is fixed, `sluice retry` reruns the failed children, then each fan-in again.
  await db.sql`truncate fan_ins`;
  const retry = await runSluice(
    ['retry', 'test/fixtures/fanOutJob.ts', '--database-url', db.url, '--json'],
    { ...env, FAIL_KIND: '' },
  );
  expect(retry.code, retry.stderr).toBe(0);
  expect(JSON.parse(retry.stdout.trim().split('\n').at(-1) as string)).toMatchObject({
    status: 'done',
    result: { parents: 3, ok: 18, failed: 0 },
  });
  const again = await fanIns();
  expect(again.map((r) => r.parent)).toEqual([1, 2, 3]);
  for (const row of again) expect(row.children).toEqual(expectedChildren(row.parent, 6));
});

test('a fan-out that names no handler is refused when the module loads', async () => {
  const run = await runSluice(args(), { JOB_NAME: 'bad', NO_HANDLERS: '1' });
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr.trim()).toBe(
    'sluice: Expected `handlers` to be an object of child kinds to functions (with `fanOut`), got `{}` (object)',
  );
});
