import { afterAll, beforeAll, expect, test } from 'vitest';
import { chunks, defineJob, Events, RateLimitedError, runJob, Store } from '../../src/index.ts';
import { createTestDatabase } from '../support/db.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;

beforeAll(async () => {
  db = await createTestDatabase();
  store = await Store.open(db.url);
});

afterAll(async () => {
  await store.close();
  await db.drop();
});

/** Runs a job whose items take ~5 ms, recording the caps announced and the peak of live chunks. */
async function run(name: string, throttleEvery: number) {
  let live = 0;
  let peak = 0;
  const caps: { cap: number; reason: string }[] = [];
  const job = defineJob({
    name,
    source: chunks(
      Array.from({ length: 400 }, (_, i) => i + 1),
      5,
    ),
    maxParallelism: { start: 2, max: 8 },
    retry: { attempts: 5, baseMs: 1, maxMs: 5 },
    async each(n, { attempt }) {
      live += 1;
      peak = Math.max(peak, live);
      try {
        await new Promise((r) => setTimeout(r, 5));
        if (throttleEvery > 0 && n % throttleEvery === 0 && attempt === 1)
          throw new RateLimitedError(20);
        return n;
      } finally {
        live -= 1;
      }
    },
  });
  const events = new Events();
  events.on('limit:cap', (e) => caps.push(e));
  const summary = await runJob(job, { sourceUrl: db.url, store, events });
  return { summary, caps, peak };
}

test('an adaptive cap starts low and rises while results stay clean, never above max', async () => {
  const { summary, caps, peak } = await run('adaptive-clean', 0);
  expect(summary.status).toBe('done');
  expect(caps[0]).toEqual({ cap: 2, reason: 'start' });
  expect(caps.some((c) => c.reason === 'clean' && c.cap > 2)).toBe(true);
  expect(Math.max(...caps.map((c) => c.cap))).toBeLessThanOrEqual(8);
  expect(peak).toBeGreaterThan(2);
  expect(peak).toBeLessThanOrEqual(8);
});

test('429s halve the cap, and the throttled items are retried to success', async () => {
  const { summary, caps } = await run('adaptive-throttled', 7);
  expect(summary).toMatchObject({ status: 'done', done: 400, failed: 0 });
  expect(caps.some((c) => c.reason === 'throttled')).toBe(true);
  const lowered = caps.findIndex((c) => c.reason === 'throttled');
  expect(caps[lowered]?.cap).toBeLessThan(caps[lowered - 1]?.cap ?? Number.POSITIVE_INFINITY);
});
