import postgres, { type Sql } from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createGlobalRateLimiter } from '../../src/limit/globalRateLimiter.ts';
import { epochNow } from '../../src/limit/reserve.ts';
import type { RateLimiter } from '../../src/limit/types.ts';
import { migrate } from '../../src/store/migrate.ts';
import { storeReserve } from '../../src/store/rateLimit.ts';
import { useTestDatabase } from '../support/db.ts';
import { type Release, worstWindow } from './windows.ts';

// db.sql is the admin pool; the three pools stand for three processes: each has its own
// connections and its own clock offset.
const db = useTestDatabase({ max: 1 });
let pools: Sql[] = [];

beforeAll(async () => {
  await migrate(db.sql);
  pools = Array.from({ length: 3 }, () => postgres(db.url, { max: 2, onnotice: () => {} }));
});

afterAll(async () => {
  await Promise.all(pools.map((sql) => sql.end()));
});

async function createJob(name: string): Promise<string> {
  const [row] = await db.sql<{ id: string }[]>`
    insert into sluice.jobs (name, status, source, fingerprint, max_parallelism, max_attempts)
    values (${name}, 'running', 'test', 'f', 1, 1) returning id::text`;
  return (row as { id: string }).id;
}

/** Keeps `workers` acquirers of one limiter busy until it is closed. */
async function demand(limiter: RateLimiter, workers: number): Promise<void> {
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (;;) await limiter.acquire();
    }),
  ).catch(() => undefined);
}

test('three processes sharing 300/s never put more than 300 into any 1-s window', async () => {
  const jobId = await createJob(`global-${Math.random()}`);
  const releases: Release[] = [];
  let dropped = 0;
  const limiters = pools.map((sql) =>
    createGlobalRateLimiter(sql, {
      jobId,
      rateLimit: { perSecond: 300 },
      onRelease: (at, cost) => releases.push({ at, cost }),
      onDrop: (units) => {
        dropped += units;
      },
    }),
  );
  const started = epochNow();
  const running = limiters.map((limiter) => demand(limiter, 20));
  await new Promise((done) => setTimeout(done, 2300));
  for (const limiter of limiters) limiter.close();
  await Promise.all(running);
  const ranMs = epochNow() - started;
  expect(worstWindow(releases, 1000)).toBeLessThanOrEqual(300);
  const first = Math.min(...releases.map((r) => r.at));
  const inTwoSeconds = releases.filter((r) => r.at < first + 2000).length;
  expect(inTwoSeconds).toBeLessThanOrEqual(600);
  // The shared schedule handed out the full rate (less its 0.7 % margin). A slot released over
  // 6 ms late is dropped, never bunched, so on a starved machine (one run released only 296 in
  // two seconds) the count that shows the rate is released plus dropped: 636-662 of 690 seen,
  // beside 3 CPU hogs too, as the first reservation takes a moment and each process may still
  // hold ~50 ms of slots when closed.
  expect(releases.length + dropped).toBeGreaterThanOrEqual(0.8 * ((300 * ranMs) / 1000));
});

test('a pause seen by one process holds the others within 10 ms of reaching the store', async () => {
  const jobId = await createJob(`pause-${Math.random()}`);
  const releasesOfB: number[] = [];
  const [a, b] = pools.map((sql, i) =>
    createGlobalRateLimiter(sql, {
      jobId,
      rateLimit: { perSecond: 200 },
      // Every release of B, timed where it happens (the same clock as epochNow).
      onRelease: i === 1 ? (at) => releasesOfB.push(at) : undefined,
    }),
  ) as [RateLimiter, RateLimiter];
  const running = demand(b, 10);
  await new Promise((done) => setTimeout(done, 300));
  a.pauseUntil(epochNow() + 600);
  await new Promise((done) => setTimeout(done, 1200));
  a.close();
  b.close();
  await running;
  // When the pause was written, on the server's clock, which is this machine's.
  const [row] = await db.sql<{ at: number; until: number }[]>`
    select paused_at_ms as at, paused_until_ms as until from sluice.rate_limits
    where job_id = ${jobId}`;
  const { at, until } = row as { at: number; until: number };
  // B hears the pause by notification and releases none of the slots it reserved before it.
  const during = releasesOfB.filter((time) => time > at + 10 && time < until - 2);
  expect(during).toEqual([]);
  expect(releasesOfB.some((time) => time < at)).toBe(true);
  expect(releasesOfB.some((time) => time >= until - 2)).toBe(true);
});

test('blocks reserved at once from three processes never overlap', async () => {
  const jobId = await createJob(`blocks-${Math.random()}`);
  // 1 slot per second: each block of 10 spans 10 s, far more than any clock offset error.
  const reserves = pools.map((sql) => storeReserve(sql, jobId, 'blocks', 0.001));
  const blocks = await Promise.all(
    Array.from({ length: 30 }, (_, i) => (reserves[i % 3] as (typeof reserves)[0])(10)),
  );
  const starts = blocks.map((block) => block.startMs).sort((x, y) => x - y);
  for (let i = 1; i < starts.length; i++) {
    expect((starts[i] as number) - (starts[i - 1] as number)).toBeGreaterThan(10_000 - 50);
  }
});
