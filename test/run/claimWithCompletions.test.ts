import { afterAll, beforeAll, expect, test } from 'vitest';
import { chunks, defineJob, runJob, Store } from '../../src/index.ts';
import { Events } from '../../src/observe/events.ts';
import { createTestDatabase } from '../support/db.ts';

// A batch of completions also claims the next tasks, in the same round trip. Those tasks wait for
// the workers the batch frees: they must run exactly once, under the cap, and a run stopped while
// some wait must give them back untouched.
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;

beforeAll(async () => {
  db = await createTestDatabase();
  store = await Store.open(db.url, { concurrency: 4 });
});

afterAll(async () => {
  await store.close();
  await db.drop();
});

function oneItemJob(name: string, items: number, each: (item: number) => Promise<number>) {
  return defineJob({
    name,
    source: chunks(
      Array.from({ length: items }, (_, i) => i),
      1,
    ),
    maxParallelism: 4,
    each,
  });
}

test('one-item tasks claimed with completions run once each, never more than the cap at once', async () => {
  const ran = new Map<number, number>();
  let running = 0;
  let most = 0;
  let claims = 0;
  const job = oneItemJob('claimed-with-completions', 400, async (item) => {
    running += 1;
    most = Math.max(most, running);
    ran.set(item, (ran.get(item) ?? 0) + 1);
    await new Promise((resolve) => setImmediate(resolve));
    running -= 1;
    return item;
  });
  const events = new Events();
  events.on('claim:done', () => {
    claims += 1;
  });
  const summary = await runJob(job, { sourceUrl: db.url, store, events });
  expect(summary).toMatchObject({ status: 'done', done: 400, failed: 0 });
  expect(ran.size).toBe(400);
  expect([...ran.values()].every((times) => times === 1)).toBe(true);
  expect(most).toBeLessThanOrEqual(4);
  // 400 tasks at 4 a claim: about 100 claims, not one per task.
  expect(claims).toBeLessThan(200);
});

test('a run stopped with tasks claimed ahead gives them back: none stays running, every slot is free', async () => {
  const stop = new AbortController();
  let started = 0;
  const job = oneItemJob('stopped-with-claims-ahead', 400, async (item) => {
    if (++started === 60) stop.abort();
    await new Promise((resolve) => setImmediate(resolve));
    return item;
  });
  await runJob(job, { sourceUrl: db.url, store, stop: stop.signal });
  const [row] = await store.sql<{ running: number; held: number; done: number; pending: number }[]>`
    select count(*) filter (where t.status = 'running')::int as running,
      count(*) filter (where t.status = 'done')::int as done,
      count(*) filter (where t.status = 'pending')::int as pending,
      (select count(*)::int from sluice.job_slots sl
       where sl.job_id = j.id and sl.seq is not null) as held
    from sluice.jobs j join sluice.tasks t on t.job_id = j.id
    where j.name = 'stopped-with-claims-ahead'
    group by j.id`;
  expect(row).toMatchObject({ running: 0, held: 0 });
  expect((row?.done ?? 0) + (row?.pending ?? 0)).toBe(400);
  expect(row?.done).toBeGreaterThanOrEqual(59);
  expect(row?.done).toBeLessThan(400);
});
