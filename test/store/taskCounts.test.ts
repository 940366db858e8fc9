import { readFileSync } from 'node:fs';
import { beforeAll, expect, test } from 'vitest';
import { failed, succeeded } from '../../src/job/outcome.ts';
import type { Claim, ClaimedTask, JobCounts, Store } from '../../src/store/index.ts';
import { useTestDatabase } from '../support/db.ts';
import { useJoinedStores } from '../support/jobs.ts';

// The maintained counters (migration 0015) against a count(*) over the tasks, after each kind of
// change the store makes. Several stores work at once, so their changes land on several shards.
const db = useTestDatabase({ max: 2 });
const open = useJoinedStores(() => db.url);

let a: Store;
let b: Store;
beforeAll(async () => {
  [a, b] = await Promise.all([open(), open()]);
});

/** countTasks as it was before the counters: one count(*) over the job's tasks by status. */
async function countedByScan(jobId: string): Promise<JobCounts & { waiting: number[] }> {
  const rows = await db.sql<
    { status: string; tasks: number; items: number; failedItems: number }[]
  >`
    select status, count(*)::float8 as tasks,
      coalesce(sum(case when status = 'done' then coalesce(ok_items, items)
                        when status = 'failed' then 0 else items end), 0)::float8 as items,
      coalesce(sum(case when status = 'done' then coalesce(failed_items, 0)
                        when status = 'failed' then items else 0 end), 0)::float8 as "failedItems"
    from sluice.tasks where job_id = ${jobId} group by status`;
  const tally = (status: string) => {
    const row = rows.find((r) => r.status === status);
    return { tasks: row?.tasks ?? 0, items: row?.items ?? 0 };
  };
  const waiting = tally('waiting');
  return {
    pending: tally('pending'),
    running: tally('running'),
    done: tally('done'),
    failed: { tasks: tally('failed').tasks, items: rows.reduce((n, r) => n + r.failedItems, 0) },
    waiting: [waiting.tasks, waiting.items],
  };
}

/** The store's counts, and its counters' waiting column, which countTasks leaves out. */
async function counted(jobId: string): Promise<JobCounts & { waiting: number[] }> {
  const [w] = await db.sql<{ tasks: number; items: number }[]>`
    select coalesce(sum(waiting_tasks), 0)::float8 as tasks,
      coalesce(sum(waiting_items), 0)::float8 as items
    from sluice.task_counts where job_id = ${jobId}`;
  return { ...(await a.counts(jobId)), waiting: [w?.tasks ?? 0, w?.items ?? 0] };
}

async function expectExact(jobId: string) {
  expect(await counted(jobId)).toEqual(await countedByScan(jobId));
}

async function plan(store: Store, name: string, sizes: number[], attempts = 3, replace = false) {
  const { job } = await store.findOrCreateJob(
    { name, source: 'test', fingerprint: 'f', maxParallelism: 100, maxAttempts: attempts },
    async function* () {
      for (const [i, items] of sizes.entries()) {
        yield { payload: Array.from({ length: items }, (_, n) => ({ id: `${i}-${n}` })), items };
      }
    },
    replace,
  );
  return job;
}

const claimOf = (jobId: string, task: ClaimedTask): Claim => ({
  jobId,
  seq: task.seq,
  epoch: task.epoch,
});

test('counts stay exact through plan, claim, complete, fail, checkpoint, release and requeue', async () => {
  const job = await plan(a, 'mix', [3, 1, 4, 1, 5, 9, 2, 6, 5, 3], 2);
  await expectExact(job.id);
  expect((await a.counts(job.id)).pending).toEqual({ tasks: 10, items: 39 });

  const fromA = (await a.claim(job.id, 4)).map((t) => claimOf(job.id, t));
  const fromB = (await b.claim(job.id, 4)).map((t) => claimOf(job.id, t));
  await expectExact(job.id);
  const [a0, a1, a2, a3] = fromA as [Claim, Claim, Claim, Claim];
  const [b0, b1, b2, b3] = fromB as [Claim, Claim, Claim, Claim];

  // Claimed by one process, finished by the other's connection: the shards differ.
  expect(await b.complete(a0, { ok: true })).toBe(true);
  expect(await a.fail(a1, new Error('again later'), 60_000)).toBe(true);
  expect(await a.fail(a2, new Error('for good'), undefined)).toBe(true);
  expect(await a.checkpoint(a3, { after: 2 })).toBe(true);
  await a.markWaiting(b0, true);
  await b.release(b1);
  // A stale completion changes nothing.
  expect(await a.complete({ ...b1, epoch: b1.epoch - 1 }, 'late')).toBe(false);
  await expectExact(job.id);

  // A chunk with failed items, and one that failed whole.
  const outcomes = (claim: Claim, failures: number) =>
    Array.from({ length: 9 }, (_, n) => {
      const item = { id: `${claim.seq}-${n}` };
      return n < failures ? failed(item, new Error('bad item'), undefined, 1) : succeeded(item);
    });
  expect(await b.recordChunk(b2, 1, outcomes(b2, 2))).toBe(true);
  expect(await a.recordChunk(b3, 1, outcomes(b3, 9), new Error('chunk broke'))).toBe(true);
  await a.renewLeases(job.id);
  await expectExact(job.id);

  expect(await a.requeueFailedItems(job.id)).toBeGreaterThan(0);
  await expectExact(job.id);
  expect(await b.requeueFailed(job.id)).toBeGreaterThan(0);
  await expectExact(job.id);
  expect(await a.requeueDeadLetters(job.id)).toEqual({ letters: 0, tasks: 0 });
  await expectExact(job.id);
});

test('a dead process’s tasks are reclaimed into the counts, and dead letters requeued', async () => {
  const doomed = await open();
  const job = await plan(a, 'reclaim', [2, 2, 2, 2], 1);
  const claims = (await doomed.claim(job.id, 3)).map((t) => claimOf(job.id, t));
  await doomed.markWaiting(claims[0] as Claim, true);
  await doomed.close();
  // Out of attempts: the ones that ran fail; the one still waiting for a worker goes back.
  expect(await a.reclaimOrphans(job.id)).toBe(3);
  await expectExact(job.id);
  expect((await a.counts(job.id)).failed.tasks).toBe(2);

  const [task] = await b.claim(job.id, 1);
  const claim = claimOf(job.id, task as ClaimedTask);
  const item = (n: number) => ({ id: `dl-${n}` });
  await b.recordChunk(claim, 1, [
    failed(item(1), new Error('x'), undefined, 1),
    succeeded(item(2)),
  ]);
  await expectExact(job.id);
  expect(await a.requeueDeadLetters(job.id)).toEqual({ letters: 1, tasks: 1 });
  await expectExact(job.id);
});

test('fan-out parents wait outside the four counts; pipeline stages move their items', async () => {
  const job = await plan(a, 'graph', [0, 2]);
  const [parent, stage] = (await a.claimGraph(job.id, 2)).map((t) => claimOf(job.id, t)) as [
    Claim,
    Claim,
  ];
  const kids = [1, 2, 3].map((n) => ({ kind: 'child', input: n }));
  expect(await a.completeFanOut(parent, kids)).toBe(true);
  expect(
    await b.completeStage(stage, { stage: 'next', depth: 1, outputs: ['x', 'y'], items: 2 }),
  ).toBe(true);
  await expectExact(job.id);
  expect((await counted(job.id)).waiting).toEqual([1, 0]);

  // The last child to finish puts the parent back in the queue (the settle_parent trigger).
  for (const task of await b.claimGraph(job.id, 10)) {
    await b.complete(claimOf(job.id, task), { done: task.seq });
    await expectExact(job.id);
  }
  expect((await counted(job.id)).waiting).toEqual([0, 0]);
  expect((await a.counts(job.id)).pending.tasks).toBe(1);
});

test('a rerun deletes the job with its counters; countJobs reads several jobs at once', async () => {
  const first = await plan(a, 'rerun', [1, 2, 3]);
  await a.claim(first.id, 2);
  const second = await plan(b, 'rerun', [5, 5], 3, true);
  expect(second.id).not.toBe(first.id);
  const [left] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from sluice.task_counts where job_id = ${first.id}`;
  expect(left?.n).toBe(0);
  await expectExact(second.id);

  const other = await plan(a, 'other', [7]);
  const counts = await a.countsOf([second.id, other.id, first.id]);
  expect(counts.get(second.id)).toEqual(await a.counts(second.id));
  expect(counts.get(other.id)?.pending).toEqual({ tasks: 1, items: 7 });
  // A job that is gone, or has no tasks, counts zero everywhere.
  expect(counts.get(first.id)?.pending).toEqual({ tasks: 0, items: 0 });
  expect((await a.countsOf([])).size).toBe(0);
});

test('the migration counts the jobs planned before it', async () => {
  const job = await plan(a, 'backfill', [4, 4, 4]);
  const [task] = await a.claim(job.id, 2);
  await a.complete(claimOf(job.id, task as ClaimedTask), 'ok');
  const before = await countedByScan(job.id);
  // Undo migration 0015, then run its file again, as on a database with jobs from before it.
  await db.sql.unsafe(`
    drop table sluice.task_counts;
    drop function sluice.count_task_changes() cascade;
    drop function sluice.drop_job_rollups() cascade;
    drop function sluice.add_task_counts(sluice.task_count_delta[]);
    drop type sluice.task_count_delta;
    drop function sluice.task_count_class(text);
    drop function sluice.task_counted_items(text, bigint, bigint);
    drop function sluice.task_failed_items(text, bigint, bigint);
    drop function sluice.task_count_shard();`);
  const file = new URL('../../src/store/migrations/0015_task_counts.sql', import.meta.url);
  await db.sql.begin((tx) => tx.unsafe(readFileSync(file, 'utf8')));
  expect(await counted(job.id)).toEqual(before);
  expect((await a.counts(job.id)).running).toEqual({ tasks: 1, items: 4 });
});
