import { beforeEach, expect, test } from 'vitest';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
const job = 'test/fixtures/sequentialJob.ts';
const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

beforeEach(async () => {
  await db.sql`drop table if exists applied, tries`;
});

/** Items in the order they were applied. */
async function appliedOrder(): Promise<number[]> {
  const rows = await db.sql<{ n: number }[]>`select n from applied order by pos`;
  return rows.map((row) => row.n);
}

const run = (env: Record<string, string>, ...extra: string[]) =>
  runSluice(['run', job, '--database-url', db.url, '--json', ...extra], env);

test('300 items run in plan order; an item that fails twice holds back every later one', async () => {
  const result = await run({ JOB_NAME: 'seq-each', FAIL_ITEM: '150' });
  expect(result.code, result.stderr).toBe(0);
  expect(JSON.parse(result.stdout.trim().split('\n').at(-1) as string)).toMatchObject({
    status: 'done',
    done: 300,
    failed: 0,
  });
  expect(await appliedOrder()).toEqual(oneTo(300));
  const tries = await db.sql`select attempt from tries where n = 150 order by attempt`;
  expect(tries.map((row) => row.attempt)).toEqual([1, 2]);
});

test('a chunk waiting out its retry backoff is not overtaken by the next chunk', async () => {
  // Whole-task failures: chunk 6 (items 51..60) goes back to the queue twice, for 300 ms each.
  const result = await run({ JOB_NAME: 'seq-run', MODE: 'run', FAIL_ITEM: '55' });
  expect(result.code, result.stderr).toBe(0);
  expect(await appliedOrder()).toEqual(oneTo(300));
  const [chunk] = await db.sql`
    select t.attempts from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = 'seq-run' and t.seq = 5`;
  expect(chunk?.attempts).toBe(3);
});

// The cap can come from the module or the command line, and tasks can run in a worker thread: the
// per-item checkpoint follows the cap the run works under in every case.
const killed = [
  { how: 'cap 1 in the module', cap: '1', flags: [] },
  {
    how: '--max-parallelism 1 over a module cap of 4',
    cap: '4',
    flags: ['--max-parallelism', '1'],
  },
  {
    how: 'the same in a worker thread',
    cap: '4',
    flags: ['--max-parallelism', '1', '--executor', 'thread:1'],
  },
];
for (const { how, cap, flags } of killed) {
  test(`${how}: SIGKILL mid-chunk, then rerun: it resumes at the next item, in order, none run twice but the one in flight`, async () => {
    const env = {
      JOB_NAME: `seq-killed-${cap}-${flags.length}`,
      CAP: cap,
      CHUNK: '50',
      SLEEP_MS: '5',
    };
    const args = ['run', job, '--database-url', db.url, '--json', ...flags];
    const victim = spawnSluice(args, env);
    const victimDone = finished(victim);
    await waitFor(async () => {
      const [row] = await db.sql`select count(*)::int as n from applied`.catch(() => [{ n: 0 }]);
      return (row?.n ?? 0) >= 120;
    });
    victim.kill('SIGKILL');
    expect((await victimDone).signal).toBe('SIGKILL');
    const beforeRerun = (await appliedOrder()).length;
    expect(beforeRerun).toBeLessThan(300);

    const rerun = await finished(spawnSluice(args, env));
    expect(rerun.code, rerun.stderr).toBe(0);
    const order = await appliedOrder();
    // At most the item in flight at the kill ran twice, once on each side of it...
    expect(order.length).toBeLessThanOrEqual(301);
    if (order.length === 301) {
      expect(order[beforeRerun]).toBe(order[beforeRerun - 1]);
      order.splice(beforeRerun, 1);
    }
    // ...and every item ran in plan order. Resuming at the chunk's start would repeat up to 49.
    expect(order).toEqual(oneTo(300));
    const pids = await db.sql`select distinct pid from applied`;
    expect(pids).toHaveLength(2);
  });
}

test('sluice retry runs a sequential chunk with a failed item again, though its checkpoint covers it', async () => {
  const env = { JOB_NAME: 'seq-retry', ITEMS: '30', FAIL_ITEM: '15', FAIL_TIMES: '3' };
  const first = await run(env);
  expect(first.code, first.stderr).toBe(3);
  expect(await appliedOrder()).toEqual(oneTo(30).filter((n) => n !== 15));

  await db.sql`truncate applied`;
  const retry = await runSluice(['retry', job, '--database-url', db.url, '--json'], {
    ...env,
    FAIL_TIMES: '0',
  });
  expect(retry.code, retry.stderr).toBe(0);
  // The chunk of items 11..20 ran again whole, in order.
  expect(await appliedOrder()).toEqual(oneTo(20).slice(10));
});
