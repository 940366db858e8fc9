import { afterAll, beforeAll, expect, test } from 'vitest';
import { chunks, defineJob, runJob, Store } from '../../src/index.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase();
let store: Store;

beforeAll(async () => {
  store = await Store.open(db.url, { concurrency: 4 });
});

afterAll(async () => {
  await store.close();
});

/** Sessions the job's workers hold on the source now, as the server lists them. */
async function workerSessions(job: string): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and application_name like ${`sluice:worker:${job}:%`}`;
  return row?.n ?? 0;
}

test('a job that never queries its source opens no worker connection', async () => {
  const seen: number[] = [];
  const job = defineJob({
    name: 'no-source-queries',
    source: chunks([1, 2, 3, 4, 5, 6, 7, 8], 2),
    maxParallelism: 4,
    async each() {
      seen.push(await workerSessions('no-source-queries'));
    },
  });
  const summary = await runJob(job, { sourceUrl: db.url, store });
  expect(summary).toMatchObject({ status: 'done', done: 8 });
  expect(seen).toHaveLength(8);
  expect(Math.max(...seen)).toBe(0);
});

test('a worker that queries keeps one connection of its own, across its tasks', async () => {
  const pids = new Set<number>();
  const job = defineJob({
    name: 'source-queries',
    source: chunks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 1),
    maxParallelism: 2,
    async run(items, { sql }) {
      const [row] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
      pids.add(row?.pid as number);
      return items.map((item) => ({ item, ok: true as const }));
    },
  });
  const summary = await runJob(job, { sourceUrl: db.url, store, concurrency: 2 });
  expect(summary).toMatchObject({ status: 'done', done: 12 });
  expect(pids.size).toBeLessThanOrEqual(2);
  // Closed with the run.
  expect(await workerSessions('source-queries')).toBe(0);
});

test("a timed-out attempt's query is cancelled on the server, by its worker's pid", async () => {
  const started = performance.now();
  const job = defineJob({
    name: 'timed-out-query',
    source: chunks([1], 1),
    maxParallelism: 1,
    timeout: 300,
    retry: { attempts: 1 },
    async run(_items, { sql }) {
      // The first query on this worker's connection: its pid is asked for just ahead of it.
      await sql`select pg_sleep(30)`;
      return [];
    },
  });
  const summary = await runJob(job, { sourceUrl: db.url, store });
  expect(summary).toMatchObject({ status: 'failed', failed: 1 });
  // The query did not sleep its 30 s: cancelled on the server, it ended the attempt at once.
  expect(performance.now() - started).toBeLessThan(10_000);
  const [sleeping] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and state = 'active' and query like '%pg_sleep(30)%'
      and pid <> pg_backend_pid()`;
  expect(sleeping?.n).toBe(0);
});
