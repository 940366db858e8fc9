import { beforeAll, expect, test } from 'vitest';
import { failed, type Outcome, succeeded } from '../../src/job/outcome.ts';
import type { Claim, Store } from '../../src/store/index.ts';
import { useTestDatabase } from '../support/db.ts';
import { useJoinedStores } from '../support/jobs.ts';

const db = useTestDatabase({ max: 2 });
const open = useJoinedStores(() => db.url);
let store: Store;

beforeAll(async () => {
  store = await open();
});

/** A job of chunks of items `{ id, n }`, all of it claimed, one claim per chunk. */
async function claimedJob(name: string, chunks: number[][]) {
  const { job } = await store.findOrCreateJob(
    { name, source: 'test', fingerprint: 'f', maxParallelism: 10, maxAttempts: 3 },
    async function* () {
      for (const chunk of chunks) yield { payload: chunk.map(item), items: chunk.length };
    },
  );
  const claims = await store.claim(job.id, chunks.length);
  return { job, claims: claims.map((t): Claim => ({ jobId: job.id, seq: t.seq, epoch: t.epoch })) };
}

const item = (n: number) => ({ id: `item-${n}`, n });
const letters = (jobId: string) =>
  db.sql`select item_key, task_seq, payload, error, error_stack, attempts, first_failed_at, last_failed_at
      from sluice.dead_letters where job_id = ${jobId} order by item_key`;

test('a stale claim records no dead letter; the current one does, in the same statement', async () => {
  const { job, claims } = await claimedJob('stale', [[1, 2, 3]]);
  const stale = claims[0] as Claim;
  await store.release(stale);
  const [again] = await store.claim(job.id, 1);
  const current = { ...stale, epoch: again?.epoch ?? -1 };
  expect(current.epoch).toBe(stale.epoch + 1);

  const outcomes: Outcome[] = [
    succeeded(item(1)),
    failed(item(2), new Error('corrupt'), undefined, 3),
    succeeded(item(3)),
  ];
  expect(await store.recordChunk(stale, 1, outcomes)).toBe(false);
  expect(await letters(job.id)).toHaveLength(0);

  expect(await store.recordChunk(current, 1, outcomes)).toBe(true);
  const [row] = await letters(job.id);
  expect(row).toMatchObject({
    item_key: 'item-2',
    task_seq: 0,
    payload: item(2),
    error: 'corrupt',
    attempts: 3,
  });
  expect(row?.error_stack).toContain('deadLetters.test.ts');
  expect(row?.first_failed_at).toEqual(row?.last_failed_at);
});

test('failures of the same item add up; a success deletes its row', async () => {
  const { job, claims } = await claimedJob('accumulate', [
    [1, 2],
    [1, 2],
    [1, 2],
  ]);
  const [first, second, third] = claims as [Claim, Claim, Claim];
  await store.recordChunk(first, 1, [
    failed(item(1), new Error('one'), undefined, 3),
    failed(item(2), new Error('two'), undefined, 3),
  ]);
  const before = await letters(job.id);
  // A `run` outcome carries no attempts: the task's attempt counts.
  await store.recordChunk(second, 2, [failed(item(1), new Error('one again')), succeeded(item(2))]);
  const after = await letters(job.id);
  expect(after).toHaveLength(1);
  expect(after[0]).toMatchObject({
    item_key: 'item-1',
    task_seq: 1,
    attempts: 5,
    error: 'one again',
  });
  expect(after[0]?.first_failed_at).toEqual(before[0]?.first_failed_at);
  expect(after[0]?.last_failed_at.getTime()).toBeGreaterThan(before[0]?.last_failed_at.getTime());

  // The same key twice in one chunk is one row; failing there outweighs succeeding.
  await store.recordChunk(
    third,
    1,
    [
      failed(item(1), new Error('x'), undefined, 2),
      succeeded(item(1)),
      failed(item(1), new Error('y'), undefined, 1),
    ],
    undefined,
    ['item-1', 'item-1', 'item-1'],
  );
  expect(await letters(job.id)).toMatchObject([{ item_key: 'item-1', attempts: 8, error: 'y' }]);
});

test('replay queues each letter once, in a task per chunk, and no longer counts it failed', async () => {
  const { job, claims } = await claimedJob('replay', [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const [a, b] = claims as [Claim, Claim];
  await store.recordChunk(a, 1, [
    succeeded(item(1)),
    failed(item(2), new Error('bad'), undefined, 3),
    failed(item(3), new Error('bad'), undefined, 3),
  ]);
  // A chunk that threw fails whole; each of its items is a letter with the task's attempts.
  const thrown = new Error('chunk broke');
  await store.recordChunk(
    b,
    3,
    [4, 5, 6].map((n) => ({ ...failed(item(n), thrown), attempts: 3 })),
    thrown,
  );
  await store.finishJob(job.id, null);
  expect((await store.findJob('replay'))?.status).toBe('failed');
  expect((await store.counts(job.id)).failed.items).toBe(5);

  expect(await store.requeueDeadLetters(job.id)).toEqual({ letters: 5, tasks: 2 });
  // Queued already: a second replay adds nothing.
  expect(await store.requeueDeadLetters(job.id)).toEqual({ letters: 0, tasks: 0 });

  const tasks =
    await db.sql`select seq, status, payload, failed_items::int as failed_items from sluice.tasks
    where job_id = ${job.id} order by seq`;
  expect(tasks.map((t) => [t.seq, t.status, t.failed_items])).toEqual([
    [0, 'done', 0],
    [1, 'done', 0],
    [2, 'pending', null],
    [3, 'pending', null],
  ]);
  expect(tasks[2]?.payload).toEqual([item(2), item(3)]);
  expect(tasks[3]?.payload).toEqual([item(4), item(5), item(6)]);
  const reopened = await store.findJob('replay');
  expect(reopened).toMatchObject({ status: 'running', totalTasks: 4 });
  expect((await store.counts(job.id)).failed.items).toBe(0);
  // The letters stay until their items succeed.
  expect(await letters(job.id)).toHaveLength(5);

  const replays = await store.claim(job.id, 2);
  for (const t of replays) {
    const claim = { jobId: job.id, seq: t.seq, epoch: t.epoch };
    const batch = t.payload as { id: string; n: number }[];
    await store.recordChunk(
      claim,
      1,
      batch.map((i) =>
        i.n === 5 ? failed(i, new Error('still bad'), undefined, 3) : succeeded(i),
      ),
    );
  }
  expect(await letters(job.id)).toMatchObject([{ item_key: 'item-5', attempts: 6, task_seq: 3 }]);
  await store.finishJob(job.id, null);
  const counts = await store.counts(job.id);
  expect([counts.done.items, counts.failed.items]).toEqual([5, 1]);
});

test('purge deletes one key or all; listing uses the index', async () => {
  const { job, claims } = await claimedJob('purge', [[1, 2, 3]]);
  await store.recordChunk(
    claims[0] as Claim,
    1,
    [1, 2, 3].map((n) => failed(item(n), new Error('bad'), undefined, 1)),
  );
  expect((await store.deadLetters(job.id, 2)).total).toBe(3);
  expect((await store.deadLetters(job.id, 2)).letters.map((l) => l.key)).toEqual([
    'item-1',
    'item-2',
  ]);
  expect(await store.purgeDeadLetters(job.id, 'item-2')).toBe(1);
  expect(await store.purgeDeadLetters(job.id, 'nope')).toBe(0);
  expect(await store.purgeDeadLetters(job.id)).toBe(2);
  expect((await store.deadLetters(job.id, 10)).total).toBe(0);

  await db.sql`set enable_seqscan = off`;
  const plan = await db.sql.unsafe(
    `explain select item_key from sluice.dead_letters where job_id = $1 order by item_key limit 100`,
    [job.id],
  );
  await db.sql`set enable_seqscan = on`;
  expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/Index/);
});
