import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { failed, type Outcome, succeeded } from '../../src/job/outcome.ts';
import type { JobRow } from '../../src/store/index.ts';
import { Store } from '../../src/store/index.ts';
import { useTestDatabase } from '../support/db.ts';

// One job, made through the Store API: 12 chunks of 5 items `{ id: 'k-<n>' }`. Chunks 0-7 finish
// with per-item outcomes (some items fail), chunks 8 and 9 fail whole, 10 and 11 stay running.
// The expectations below are computed from these rules, not read back from the store.
const db = useTestDatabase({ max: 2 });
let store: Store;
let job: JobRow;
let processId: number;

const key = (n: number) => `k-${n}`;
const itemError = (n: number) =>
  n % 7 === 3
    ? `row ${n} violates unique constraint`
    : n % 11 === 5
      ? `timeout after ${n * 10} ms (request ${randomUUID()})`
      : undefined;
const recorded = Array.from({ length: 40 }, (_, n) => n);
const failedItems = recorded.filter((n) => itemError(n) !== undefined);
const okItems = recorded.length - failedItems.length;

beforeAll(async () => {
  store = await Store.open(db.url);
  processId = await store.join();
  ({ job } = await store.findOrCreateJob(
    { name: 'page', source: 'test', fingerprint: 'f', maxParallelism: 12, maxAttempts: 1 },
    async function* () {
      for (let c = 0; c < 12; c++) {
        yield { payload: Array.from({ length: 5 }, (_, i) => ({ id: key(c * 5 + i) })), items: 5 };
      }
    },
  ));
  const claims = await store.claim(job.id, 12);
  for (const task of claims.slice(0, 8)) {
    const outcomes: Outcome[] = Array.from({ length: 5 }, (_, i) => {
      const n = task.seq * 5 + i;
      const error = itemError(n);
      return error ? failed({ id: key(n) }, new Error(error)) : succeeded({ id: key(n) }, n);
    });
    await store.recordChunk({ jobId: job.id, seq: task.seq, epoch: task.epoch }, 1, outcomes);
  }
  for (const [task, error] of [
    [claims[8], 'invalid token 0x1f2e'],
    [claims[9], 'invalid token 0xabc123'],
  ] as const) {
    if (!task) throw new Error('expected 12 claims');
    await store.fail(
      { jobId: job.id, seq: task.seq, epoch: task.epoch },
      new Error(error),
      undefined,
    );
  }
});

afterAll(async () => {
  await store.close();
});

test('tasks by state and the jobs list count every item once', async () => {
  const counts = await store.dashboard.tasksByState(job.id);
  expect(counts.done).toEqual({ tasks: 8, items: okItems });
  expect(counts.failed).toEqual({ tasks: 2, items: failedItems.length + 10 });
  expect(counts.running).toEqual({ tasks: 2, items: 10 });

  const [summary] = (await store.dashboard.jobs()).filter((j) => j.id === job.id);
  expect(summary).toMatchObject({
    name: 'page',
    status: 'running',
    totalItems: 60,
    doneItems: okItems,
    failedItems: failedItems.length + 10,
    cap: 12,
    processes: 1,
  });
  // Everything finished within the last minute: the rate counts all of it, and the ETA is what
  // the two running chunks need at that rate.
  expect(summary?.rate).toBeGreaterThan(0);
  expect(summary?.etaS).toBeCloseTo(10 / (summary?.rate ?? 1), 6);
  expect(summary?.startedAt).toBe(job.createdAt.toISOString());
  expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
});

test('the throughput series holds every finished item, in at most 200 buckets', async () => {
  const series = await store.dashboard.throughput(job.id);
  expect(series.points.length).toBeGreaterThan(0);
  expect(series.points.length).toBeLessThanOrEqual(201);
  const sum = (f: (p: (typeof series.points)[number]) => number) =>
    series.points.reduce((total, p) => total + f(p) * series.bucketSeconds, 0);
  expect(sum((p) => p.itemsPerS)).toBeCloseTo(okItems, 9);
  expect(sum((p) => p.failuresPerS)).toBeCloseTo(failedItems.length + 10, 9);
  const starts = series.points.map((p) => Date.parse(p.at));
  expect(starts[0]).toBe(job.createdAt.getTime());
  for (let i = 1; i < starts.length; i++) {
    expect((starts[i] as number) - (starts[i - 1] as number)).toBe(series.bucketSeconds * 1000);
  }
});

test('a job that ran for hours gets wider buckets, and the rollup re-bins exactly', async () => {
  // Move this job's history back: its tasks finished over the last 5 hours.
  const { job: old } = await store.findOrCreateJob(
    { name: 'long', source: 'test', fingerprint: 'f', maxParallelism: 1, maxAttempts: 1 },
    async function* () {
      for (let i = 0; i < 600; i++) yield { payload: i, items: 2 };
    },
  );
  await db.sql`update sluice.jobs set created_at = now() - interval '5 hours' where id = ${old.id}`;
  await db.sql`update sluice.tasks set status = 'done', attempts = 1, ok_items = 2, failed_items = 0,
      finished_at = now() - interval '5 hours' + seq * interval '30 s'
    where job_id = ${old.id}`;
  const series = await store.dashboard.throughput(old.id);
  expect(series.bucketSeconds).toBe(300);
  expect(series.points.length).toBeLessThanOrEqual(201);
  // 10 tasks of 2 items per 300 s bucket.
  expect(series.points.slice(0, 59).map((p) => p.itemsPerS * 300)).toEqual(Array(59).fill(20));
  // Tasks reopened leave the history they made.
  await db.sql`update sluice.tasks set status = 'pending', finished_at = null where job_id = ${old.id} and seq < 10`;
  const after = await store.dashboard.throughput(old.id);
  expect(after.points[0]?.itemsPerS).toBe(0);
  expect(after.points[1]?.itemsPerS).toBeCloseTo(20 / 300, 12);
});

test('failed tasks come newest first, a keyset page at a time', async () => {
  const [first] = await store.dashboard.failedTasks(job.id, { limit: 1 });
  expect(first).toMatchObject({ seq: 9, error: 'invalid token 0xabc123', items: 5 });
  expect(first?.stack).toContain('dashboardQueries.test.ts');
  const after = { finishedAt: first?.finishedAt as string, seq: first?.seq as number };
  const next = await store.dashboard.failedTasks(job.id, { limit: 5, after });
  expect(next.map((t) => t.seq)).toEqual([8]);
});

test('dead letters page by key, with the payload on demand', async () => {
  const first = await store.dashboard.deadLetters(job.id, { limit: 3 });
  expect(first.total).toBe(failedItems.length);
  const rest = await store.dashboard.deadLetters(job.id, { after: first.letters.at(-1)?.key });
  const keys = [...first.letters, ...rest.letters].map((l) => l.key);
  expect(new Set(keys)).toEqual(new Set(failedItems.map(key)));
  expect(keys).toHaveLength(failedItems.length);
  expect(first.letters[0]).not.toHaveProperty('payload');
  const n = failedItems[0] as number;
  expect(await store.dashboard.deadLetterPayload(job.id, key(n))).toMatchObject({
    key: key(n),
    payload: { id: key(n) },
  });
  expect(await store.dashboard.deadLetterPayload(job.id, 'no-such-key')).toBeUndefined();
});

test('failures group by their masked message, with sample keys', async () => {
  const rows = failedItems.filter((n) => n % 7 === 3);
  const timeouts = failedItems.filter((n) => n % 7 !== 3);
  expect(await store.dashboard.failureGroups(job.id)).toEqual(
    [
      {
        pattern: 'row <n> violates unique constraint',
        count: rows.length,
        samples: rows.slice(0, 3).map(key),
      },
      {
        pattern: 'timeout after <n> ms (request <uuid>)',
        count: timeouts.length,
        samples: timeouts.slice(0, 3).map(key),
      },
      { pattern: 'invalid token <hex>', count: 2, samples: ['task 9', 'task 8'] },
    ].sort((a, b) => b.count - a.count || (a.pattern < b.pattern ? -1 : 1)),
  );
  expect(await store.dashboard.failureGroups(job.id, 1)).toHaveLength(1);
});

test('search finds outcomes and dead letters by key prefix, exact key, and error words', async () => {
  const byPrefix = await store.dashboard.search(job.id, { key: 'k-1' });
  const prefixed = recorded.map(key).filter((k) => k.startsWith('k-1'));
  expect(byPrefix.outcomes.map((o) => o.key)).toEqual([...prefixed].sort());
  expect(byPrefix.deadLetters.map((d) => d.key).sort()).toEqual(
    failedItems
      .map(key)
      .filter((k) => k.startsWith('k-1'))
      .sort(),
  );

  const n = failedItems[0] as number;
  const exact = await store.dashboard.search(job.id, { key: key(n), exact: true });
  // The first failed item is k-3, whose message has no uuid in it.
  expect(exact.outcomes).toEqual([
    expect.objectContaining({ key: 'k-3', ok: false, error: 'row 3 violates unique constraint' }),
  ]);
  expect(exact.deadLetters.map((d) => d.key)).toEqual([key(n)]);

  const words = await store.dashboard.search(job.id, { text: 'VIOLATES uniq' });
  const violations = failedItems.filter((n) => n % 7 === 3).map(key);
  expect(words.outcomes.map((o) => o.key).sort()).toEqual([...violations].sort());
  expect(words.deadLetters.map((d) => d.key).sort()).toEqual([...violations].sort());
  expect(await store.dashboard.search(job.id, { text: '  ;; ' })).toEqual({
    outcomes: [],
    deadLetters: [],
  });
  expect(
    (await store.dashboard.search(job.id, { text: 'timeout', limit: 2 })).outcomes,
  ).toHaveLength(2);
});

test('the running tasks name the process that holds them', async () => {
  const running = await store.dashboard.runningTasks(job.id);
  expect(running.map((t) => [t.seq, t.owner, t.attempt])).toEqual([
    [10, processId, 1],
    [11, processId, 1],
  ]);
});
