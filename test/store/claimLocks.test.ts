import postgres from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { claimTasks } from '../../src/store/claim.ts';
import { Store } from '../../src/store/index.ts';
import { useTestDatabase } from '../support/db.ts';
import { planJob } from '../support/jobs.ts';

// A claim holds its locks until it commits. Nothing else a worker does may wait for them: not a
// completion, not an outcome or dead-letter insert (a foreign key to the job row), not another
// claim. Each runs here with a lock_timeout while one claim stays uncommitted, so a wait fails
// the test instead of hanging it. A pause is the one thing that must wait: a claim in flight
// when it returns could start a task after it.
const db = useTestDatabase({ max: 2 });
const lockTimeout = '1s';
let store: Store;
let owner: number;
let holder: postgres.ReservedSql;
let other: postgres.Sql;

const plan = async (name: string, tasks: number, cap: number) =>
  (await planJob(store, name, tasks, cap)).id;

/** Runs `work` while `holder` keeps a claim of one task of `jobId` open, then rolls it back. */
async function whileAClaimIsOpen<T>(jobId: string, work: () => Promise<T>): Promise<T> {
  await holder`begin`;
  try {
    const held = await claimTasks(holder, jobId, owner, 1);
    expect(held).toHaveLength(1);
    return await work();
  } finally {
    await holder`rollback`;
  }
}

beforeAll(async () => {
  store = await Store.open(db.url);
  owner = await store.join();
  holder = await db.sql.reserve();
  other = postgres(db.url, { max: 1, onnotice: () => {} });
  await other`select set_config('lock_timeout', ${lockTimeout}, false)`;
});

afterAll(async () => {
  holder?.release();
  await other?.end();
  await store?.close();
});

test('a completion, an outcome with a dead letter and a second claim do not wait for an open claim', async () => {
  const jobId = await plan('no-waits', 10, 8);
  const [done, failed] = await claimTasks(other, jobId, owner, 2);
  if (!(done && failed)) throw new Error('expected two claimed tasks');
  await whileAClaimIsOpen(jobId, async () => {
    await store.complete({ jobId, seq: done.seq, epoch: done.epoch }, { ok: true });
    const recorded = await store.recordChunk(
      { jobId, seq: failed.seq, epoch: failed.epoch },
      1,
      [{ ok: false, item: { id: 1 }, error: 'bad row' }],
      new Error('bad row'),
    );
    expect(recorded).toBe(true);
    expect(await claimTasks(other, jobId, owner, 1)).toHaveLength(1);
  });
  const [letters] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from sluice.dead_letters where job_id = ${jobId}`;
  expect(letters?.n).toBe(1);
});

test('a pause waits for a claim in flight, and a claim after it takes nothing', async () => {
  const jobId = await plan('pause-waits', 10, 8);
  await holder`begin`;
  let paused = false;
  let pausing: Promise<unknown> | undefined;
  try {
    expect(await claimTasks(holder, jobId, owner, 1)).toHaveLength(1);
    pausing = store
      .changeJobStatus(jobId, { from: ['running'], to: 'paused' })
      .then(() => (paused = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(paused).toBe(false);
  } finally {
    await holder`commit`;
  }
  await pausing;
  expect(paused).toBe(true);
  expect(await claimTasks(other, jobId, owner, 8)).toEqual([]);
});

test('the slots follow the tasks: the cap holds, and every way out of running frees one', async () => {
  const jobId = await plan('slots', 6, 3);
  const claimed = await claimTasks(other, jobId, owner, 10);
  expect(claimed).toHaveLength(3);
  expect(await claimTasks(other, jobId, owner, 10)).toEqual([]);
  const [first, second] = claimed;
  if (!(first && second)) throw new Error('expected claimed tasks');
  await store.complete({ jobId, seq: first.seq, epoch: first.epoch }, 'ok');
  await store.fail({ jobId, seq: second.seq, epoch: second.epoch }, new Error('again'), 0);
  const slots = await db.sql<{ held: number; running: number }[]>`
    select count(*) filter (where sl.seq is not null)::int as held,
      (select count(*)::int from sluice.tasks t where t.job_id = ${jobId} and t.status = 'running') as running
    from sluice.job_slots sl where sl.job_id = ${jobId}`;
  expect(slots[0]).toEqual({ held: 1, running: 1 });
  expect(await claimTasks(other, jobId, owner, 10)).toHaveLength(2);

  // A lower cap leaves the upper slots to the tasks holding them; a higher one adds slots at once.
  await store.updateJobLimits(jobId, 1, 3);
  expect(await claimTasks(other, jobId, owner, 10)).toEqual([]);
  await store.updateJobLimits(jobId, 5, 3);
  expect(await claimTasks(other, jobId, owner, 10)).toHaveLength(2);
});

test('a cap lowered below the tasks running: no claim starts another until they are under it', async () => {
  const jobId = await plan('lowered', 10, 5);
  const claimed = await claimTasks(other, jobId, owner, 5);
  expect(claimed).toHaveLength(5);
  // The tasks in slots 1 and 2 end; those in slots 3 to 5 run on.
  for (const task of claimed.slice(0, 2)) {
    await store.complete({ jobId, seq: task.seq, epoch: task.epoch }, 'ok');
  }
  await store.updateJobLimits(jobId, 2, 3);
  // Three run under a cap of two: neither a claim that counts nor one that says it holds none
  // may take the free slots 1 and 2.
  expect(await claimTasks(other, jobId, owner, 1, 0)).toEqual([]);
  expect(await claimTasks(other, jobId, owner, 5)).toEqual([]);
  const [running] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from sluice.tasks where job_id = ${jobId} and status = 'running'`;
  expect(running?.n).toBe(3);
});
