import { beforeAll, expect, test } from 'vitest';
import { failed, succeeded } from '../../src/job/outcome.ts';
import type { Claim, Store } from '../../src/store/index.ts';
import { recordSucceededChunks } from '../../src/store/outcomes.ts';
import { useTestDatabase } from '../support/db.ts';
import { useJoinedStores } from '../support/jobs.ts';

const db = useTestDatabase({ max: 2 });
const open = useJoinedStores(() => db.url);
let store: Store;

beforeAll(async () => {
  store = await open();
});

const item = (n: number) => ({ id: `item-${n}`, n });
const key = (n: number) => `item-${n}`;

test('several chunks finish in one statement as recordChunk finishes each; a stale claim writes nothing', async () => {
  const { job } = await store.findOrCreateJob(
    { name: 'batch', source: 'test', fingerprint: 'f', maxParallelism: 10, maxAttempts: 3 },
    async function* () {
      for (const chunk of [[1, 2], [3], [4]])
        yield { payload: chunk.map(item), items: chunk.length };
    },
  );
  const claims = (await store.claim(job.id, 3)).map(
    (t): Claim => ({ jobId: job.id, seq: t.seq, epoch: t.epoch }),
  );
  const [first, second, third] = claims as [Claim, Claim, Claim];
  // Item 3 is a dead letter from an earlier try; its success now removes it.
  await store.recordChunk(second, 1, [failed(item(3), new Error('flaky'))], undefined, [key(3)]);
  await db.sql`update sluice.tasks set status = 'running', finished_at = null
    where job_id = ${job.id} and seq = ${second.seq}`;
  const stale = { ...third, epoch: third.epoch - 1 };

  const finished = await recordSucceededChunks(store.sql, job.id, [
    {
      claim: first,
      attempt: 1,
      outcomes: [succeeded(item(1), 'a'), succeeded(item(2))],
      keys: [key(1), key(2)],
    },
    { claim: second, attempt: 2, outcomes: [succeeded(item(3))], keys: [key(3)] },
    { claim: stale, attempt: 1, outcomes: [succeeded(item(4))], keys: [key(4)] },
  ]);
  expect([...finished].sort()).toEqual([first.seq, second.seq]);

  const tasks = await db.sql`select seq, status, ok_items::int as ok_items, report from sluice.tasks
    where job_id = ${job.id} order by seq`;
  expect(tasks.map((t) => [t.status, t.ok_items, t.report])).toEqual([
    ['done', 2, { ok: 2, failed: 0 }],
    ['done', 1, { ok: 1, failed: 0 }],
    ['running', null, null],
  ]);
  const outcomes = await db.sql`select task_seq, idx, item, ok, value, attempt from sluice.outcomes
    where job_id = ${job.id} order by task_seq, idx`;
  expect(outcomes.map((o) => [o.task_seq, o.idx, o.item, o.ok, o.value, o.attempt])).toEqual([
    [first.seq, 0, item(1), true, 'a', 1],
    [first.seq, 1, item(2), true, null, 1],
    [second.seq, 0, item(3), true, null, 2],
  ]);
  expect(await db.sql`select 1 from sluice.dead_letters where job_id = ${job.id}`).toHaveLength(0);
  const [counts] = await db.sql<{ done: number }[]>`
    select sum(done_tasks)::int as done from sluice.task_counts where job_id = ${job.id}`;
  expect(counts?.done).toBe(2);
});
