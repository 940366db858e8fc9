import type postgres from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Store } from '../../src/store/index.ts';
import { countsQuery } from '../../src/store/progress.ts';
import { useTestDatabase } from '../support/db.ts';

// What a progress or status read costs does not depend on the job's size: the counters of a job
// of 1,000,000 tasks are read through as few buffers as those of a job of 100. (The count(*) they
// replace read 15,401 buffers, 323-454 ms on a busy PostgreSQL 15, for the 1,000,000 tasks.)
const db = useTestDatabase({ max: 2 });
const stores: Store[] = [];

beforeAll(async () => {
  stores.push(...(await Promise.all([0, 1, 2, 3].map(() => Store.open(db.url)))));
  await Promise.all(stores.map((store) => store.join()));
});

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
});

/** Plans an empty job through the store, then gives it `tasks` tasks in one statement. */
async function jobOf(name: string, tasks: number): Promise<string> {
  const [first] = stores as [Store];
  const { job } = await first.findOrCreateJob(
    { name, source: 'test', fingerprint: 'f', maxParallelism: 1000, maxAttempts: 3 },
    async function* () {},
  );
  await db.sql`
    insert into sluice.tasks (job_id, seq, payload, items)
    select ${job.id}, g, jsonb_build_object('i', g), 3 from generate_series(0, ${tasks - 1}) g`;
  // Every store claims and finishes some, so the counts are spread over several shards.
  for (const store of stores) {
    const claimed = await store.claim(job.id, 5);
    for (const task of claimed.slice(0, 3)) {
      await store.complete({ jobId: job.id, seq: task.seq, epoch: task.epoch }, 'ok');
    }
  }
  return job.id;
}

/** Buffers the count read touches at the server, and how many counter rows it summed. */
async function readCost(sql: postgres.Sql, jobId: string) {
  const { string } = await countsQuery(sql, [jobId]).describe();
  const [row] = await sql.unsafe<{ 'QUERY PLAN': [{ Plan: Record<string, number> }] }[]>(
    `explain (analyze, buffers, format json) ${string}`,
    [[jobId]],
  );
  const plan = row?.['QUERY PLAN'][0].Plan ?? {};
  const [rows] = await sql<{ n: number }[]>`
    select count(*)::int as n from sluice.task_counts where job_id = ${jobId}`;
  return {
    buffers: (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0),
    counterRows: rows?.n ?? 0,
  };
}

test('the count read of a 1,000,000-task job touches as few buffers as a 100-task one', async () => {
  const small = await jobOf('small', 100);
  const big = await jobOf('big', 1_000_000);
  await db.sql`vacuum analyze sluice.tasks`;
  await db.sql`analyze sluice.task_counts`;

  const [store] = stores as [Store];
  expect(await store.counts(big)).toEqual({
    pending: { tasks: 1_000_000 - 20, items: 3 * (1_000_000 - 20) },
    running: { tasks: 8, items: 24 },
    done: { tasks: 12, items: 36 },
    failed: { tasks: 0, items: 0 },
  });

  const smallCost = await readCost(db.sql, small);
  const bigCost = await readCost(db.sql, big);
  // One row per shard a job's changes went through: at most 64, whatever the job's size.
  expect(bigCost.counterRows).toBeGreaterThan(1);
  expect(bigCost.counterRows).toBeLessThanOrEqual(64);
  // Those rows, and the running tasks (8 in both jobs) through the index: a deeper index over
  // 1,000,000 tasks costs a level more, not a page per task.
  expect(bigCost.buffers).toBeLessThanOrEqual(smallCost.buffers + 8);
  expect(bigCost.buffers).toBeLessThanOrEqual(60);
}, 180_000);
