import { readdir } from 'node:fs/promises';
import { afterAll, expect, test } from 'vitest';
import { Store } from '../../src/store/index.ts';
import { completeTask } from '../../src/store/outcome.ts';
import { useTestDatabase } from '../support/db.ts';
import { planJob } from '../support/jobs.ts';

const db = useTestDatabase({ max: 2 });
const stores: Store[] = [];

async function open(): Promise<Store> {
  const store = await Store.open(db.url);
  stores.push(store);
  return store;
}

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close().catch(() => {})));
});

test('processes that start at once apply each migration exactly once', async () => {
  await Promise.all(Array.from({ length: 6 }, () => open()));
  const ledger = await db.sql`select version, name from sluice.migrations order by version`;
  const files = (await readdir(new URL('../../src/store/migrations/', import.meta.url))).sort();
  expect(ledger.map((row) => row.version)).toEqual(files.map((name) => Number(name.slice(0, 4))));
  expect(ledger.length).toBeGreaterThanOrEqual(2);
});

test('concurrent claimers in separate sessions never exceed the cap together', async () => {
  const claimers = await Promise.all(Array.from({ length: 4 }, () => open()));
  await Promise.all(claimers.map((store) => store.join()));
  const job = await planJob(claimers[0] as Store, 'cap', 60, 5);
  const claimed = await Promise.all(
    claimers.flatMap((store) => Array.from({ length: 5 }, () => store.claim(job.id, 3))),
  );
  expect(claimed.flat()).toHaveLength(5);
  const [running] =
    await db.sql`select count(*)::int as n from sluice.tasks where job_id = ${job.id} and status = 'running'`;
  expect(running?.n).toBe(5);
  expect(new Set(claimed.flat().map((task) => task.seq)).size).toBe(5);
});

test('a dead process’s task is reclaimed and its late completion refused', async () => {
  const doomed = await open();
  const survivor = await open();
  await survivor.join();
  const job = await planJob(survivor, 'fencing', 1, 2);
  await doomed.join();
  const [task] = await doomed.claim(job.id, 1);
  expect(task).toBeDefined();
  if (!task) return;
  expect(await survivor.reclaimOrphans(job.id)).toBe(0);

  // Ending the session drops its advisory lock, as a SIGKILL would.
  await doomed.close();
  expect(await survivor.reclaimOrphans(job.id)).toBe(1);
  const [again] = await survivor.claim(job.id, 1);
  expect(again?.epoch).toBe(task.epoch + 1);

  const stale = { jobId: job.id, seq: task.seq, epoch: task.epoch };
  expect(await completeTask(db.sql, stale, 'late')).toBe(false);
  expect(
    await survivor.complete({ jobId: job.id, seq: task.seq, epoch: again?.epoch ?? -1 }, 'fresh'),
  ).toBe(true);
  const [row] = await db.sql`select status, report from sluice.tasks where job_id = ${job.id}`;
  expect(row).toEqual({ status: 'done', report: 'fresh' });
});

test('an expired lease is reclaimed even while its owner lives, and the last attempt fails', async () => {
  const store = await open();
  await store.join();
  const job = await planJob(store, 'lease', 2, 2, 1);
  const claimed = await store.claim(job.id, 2);
  expect(claimed).toHaveLength(2);
  await db.sql`update sluice.tasks set lease_until = now() - interval '1 second' where job_id = ${job.id}`;
  expect(await store.reclaimOrphans(job.id)).toBe(2);
  const rows =
    await db.sql`select status, error from sluice.tasks where job_id = ${job.id} order by seq`;
  // One attempt allowed, one used: the task fails instead of running a second time.
  expect(rows.map((row) => row.status)).toEqual(['failed', 'failed']);
  expect(rows[0]?.error).toContain('died');
});

test('a failed plan leaves no job behind', async () => {
  const store = await open();
  const failing = store.findOrCreateJob(
    { name: 'half-planned', source: 'test', fingerprint: 'f', maxParallelism: 1, maxAttempts: 1 },
    async function* () {
      for (let i = 0; i < 5000; i++) yield { payload: { i }, items: 1 };
      throw new Error('the source broke half-way');
    },
  );
  await expect(failing).rejects.toThrow('half-way');
  expect(await store.findJob('half-planned')).toBeUndefined();
  const [orphans] = await db.sql`select count(*)::int as n from sluice.tasks t
    where not exists (select 1 from sluice.jobs j where j.id = t.job_id)`;
  expect(orphans?.n).toBe(0);
});

test('claims and the cap use the index, not a scan of all tasks', async () => {
  const store = await open();
  await planJob(store, 'big', 20_000, 4);
  await db.sql`analyze sluice.tasks`;
  const [job] = await db.sql`select id from sluice.jobs where name = 'big'`;
  const explain = await db.sql.unsafe(
    `explain select seq from sluice.tasks where job_id = $1 and status = 'pending' and run_after <= now() order by seq limit 4`,
    [job?.id],
  );
  const text = explain.map((row) => row['QUERY PLAN']).join('\n');
  expect(text).toMatch(/Index Scan|Index Only Scan/);
  expect(text).not.toMatch(/Seq Scan/);
});

test("a job keeps its source's unit, for processes that follow it without the module", async () => {
  const store = await open();
  const tasks = async function* () {
    yield { payload: {}, items: 1 };
  };
  const common = { source: 'cursor(t.id)', fingerprint: 'f', maxParallelism: 1, maxAttempts: 1 };
  await store.findOrCreateJob({ ...common, name: 'unit-rows', unit: 'rows' }, tasks);
  await store.findOrCreateJob({ ...common, name: 'unit-default' }, tasks);
  expect((await store.findJob('unit-rows'))?.unit).toBe('rows');
  expect((await store.findJob('unit-default'))?.unit).toBe('items');
});
