import { expect, test } from 'vitest';
import { useTestDatabase } from '../support/db.ts';
import { planJob, useJoinedStores } from '../support/jobs.ts';

const db = useTestDatabase({ max: 2 });
const open = useJoinedStores(() => db.url);
const inOneMinute = () => 60_000; // ms from now, by the server's clock

test('at a cap of 1, a task in retry backoff is waited for, not overtaken', async () => {
  const store = await open();
  const job = await planJob(store, 'ordered', 5, 1);
  const [first] = await store.claim(job.id, 5);
  expect(first?.seq).toBe(0);
  await store.complete({ jobId: job.id, seq: 0, epoch: first?.epoch ?? 0 }, 'ok');

  const [second] = await store.claim(job.id, 5);
  expect(second?.seq).toBe(1);
  const claim = { jobId: job.id, seq: 1, epoch: second?.epoch ?? 0 };
  await store.fail(claim, new Error('try again'), inOneMinute());

  // Tasks 2..4 are runnable, but task 1 comes first.
  expect(await store.claim(job.id, 5)).toEqual([]);
  // The idle pool sleeps until task 1's backoff ends, not until the earliest runnable task.
  const next = await store.nextRunnableAt(job.id);
  expect(next?.getTime()).toBeGreaterThan(Date.now() + 50_000);

  await db.sql`update sluice.tasks set run_after = now() where job_id = ${job.id} and seq = 1`;
  const [retried] = await store.claim(job.id, 5);
  expect(retried).toMatchObject({ seq: 1, attempts: 2 });
});

test('at a cap of 1, a row lock on the first task does not let SKIP LOCKED skip past it', async () => {
  const store = await open();
  const job = await planJob(store, 'locked-first', 3, 1);
  const locker = await db.sql.reserve();
  try {
    await locker`begin`;
    await locker`select 1 from sluice.tasks where job_id = ${job.id} and seq = 0 for update`;
    expect(await store.claim(job.id, 1)).toEqual([]);
    await locker`rollback`;
  } finally {
    locker.release();
  }
  const [task] = await store.claim(job.id, 1);
  expect(task?.seq).toBe(0);
});

test('a reclaimed orphan runs before any later task', async () => {
  const doomed = await open();
  const survivor = await open();
  const job = await planJob(survivor, 'orphan-first', 4, 1);
  const [task] = await doomed.claim(job.id, 1);
  expect(task?.seq).toBe(0);
  expect(await survivor.claim(job.id, 1)).toEqual([]); // the cap of 1 is held by the orphan-to-be

  await doomed.close(); // its advisory lock goes, as with a SIGKILL
  expect(await survivor.reclaimOrphans(job.id)).toBe(1);
  const [again] = await survivor.claim(job.id, 3);
  expect(again).toMatchObject({ seq: 0, attempts: 2 });
});

test('above a cap of 1, a task in backoff is still skipped, as before', async () => {
  const store = await open();
  const job = await planJob(store, 'unordered', 4, 2);
  const [first] = await store.claim(job.id, 1);
  await store.fail(
    { jobId: job.id, seq: 0, epoch: first?.epoch ?? 0 },
    new Error('x'),
    inOneMinute(),
  );
  const claimed = await store.claim(job.id, 4);
  expect(claimed.map((t) => t.seq)).toEqual([1, 2]);
});

test('a job that is not running hands out nothing', async () => {
  const store = await open();
  const job = await planJob(store, 'not-running', 2, 1);
  await db.sql`update sluice.jobs set status = 'done' where id = ${job.id}`;
  expect(await store.claim(job.id, 1)).toEqual([]);
});

test('the ordered claim finds the first pending task through an index, past many done ones', async () => {
  const store = await open();
  const job = await planJob(store, 'big-ordered', 20_000, 1);
  await db.sql`update sluice.tasks set status = 'done' where job_id = ${job.id} and seq < ${19_980}`;
  await db.sql`analyze sluice.tasks`;
  const plans = await db.sql.unsafe(
    // The probe as migration 0016's claim_tasks runs it.
    `explain select t.seq, t.run_after from sluice.tasks t
     where t.job_id = $1 and t.status = 'pending' order by t.depth desc, t.seq limit 1`,
    [job.id],
  );
  const text = plans.map((row) => row['QUERY PLAN']).join('\n');
  expect(text).toMatch(/Index (Only )?Scan using tasks_pending_depth/);
  expect(text).not.toMatch(/Seq Scan/);
  for (let i = 19_980; i < 20_000; i++) {
    const [task] = await store.claim(job.id, 1);
    expect(task?.seq).toBe(i);
    await store.complete({ jobId: job.id, seq: i, epoch: task?.epoch ?? 0 }, null);
  }
});
