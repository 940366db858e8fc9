import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { createRateLimiter } from '../../src/limit/rateLimiter.ts';
import type { RateLimiter } from '../../src/limit/types.ts';
import { type Release, worstWindow } from './windows.ts';

const now = () => Date.now();

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});

afterEach(() => {
  vi.useRealTimers();
});

/** Keeps `workers` acquirers busy until `untilMs`, each taking `costOf(i)` units per permit. */
function demand(
  limiter: RateLimiter,
  workers: number,
  untilMs: number,
  costOf: (i: number) => number = () => 1,
): Release[] {
  const releases: Release[] = [];
  let i = 0;
  for (let w = 0; w < workers; w++) {
    void (async () => {
      while (now() < untilMs) {
        const cost = costOf(i++);
        await limiter.acquire(cost).catch(() => undefined);
        if (now() < untilMs) releases.push({ at: now(), cost });
      }
    })();
  }
  return releases;
}

test('continuous demand is spaced exactly 1/rate apart and no 1-s window exceeds the rate', async () => {
  const limiter = createRateLimiter({ perSecond: 10 }, { now });
  const start = now();
  const releases = demand(limiter, 8, start + 5000);
  await vi.advanceTimersByTimeAsync(5000);
  limiter.close();
  expect(worstWindow(releases, 1000)).toBeLessThanOrEqual(10);
  expect(releases.length).toBeGreaterThanOrEqual(49);
  expect(releases.slice(0, 3).map((r) => r.at - start)).toEqual([0, 100, 200]);
});

test('varied costs never put more than the budget into any 60-s window', async () => {
  const limiter = createRateLimiter({ perMinute: 600 }, { now });
  const costs = [1, 40, 3, 25, 1, 1, 60, 7, 12, 30];
  const releases = demand(limiter, 4, now() + 300_000, (i) => costs[i % costs.length] as number);
  await vi.advanceTimersByTimeAsync(300_000);
  limiter.close();
  expect(worstWindow(releases, 60_000)).toBeLessThanOrEqual(600);
  const units = releases.reduce((sum, r) => sum + r.cost, 0);
  // 5 minutes at 600/min is 3,000 units; varied costs may leave a little unused, never more.
  expect(units).toBeGreaterThan(2700);
});

test('releases that run late, by up to 15 ms at random, still never overfill a window', async () => {
  // Each reading of this clock lands up to 15 ms after the timer meant it to, as on a busy loop.
  let last = 0;
  const lateNow = () => {
    last = Math.max(last, Date.now() + Math.random() * 15);
    return last;
  };
  const releases: Release[] = [];
  const limiter = createRateLimiter(
    { perSecond: 50 },
    { now: lateNow, onRelease: (at, cost) => releases.push({ at, cost }) },
  );
  demand(limiter, 10, now() + 20_000);
  await vi.advanceTimersByTimeAsync(20_000);
  limiter.close();
  expect(worstWindow(releases, 1000)).toBeLessThanOrEqual(50);
  expect(releases.length).toBeGreaterThan(50 * 20 * 0.9);
});

test('settling above the estimate pushes the schedule out by the difference', async () => {
  const limiter = createRateLimiter({ perMinute: 60 }, { now });
  const start = now();
  const first = await limiter.acquire(1);
  first.settle(11);
  let releasedAt = 0;
  void limiter.acquire(1).then(() => {
    releasedAt = now();
  });
  await vi.advanceTimersByTimeAsync(60_000);
  // 1 unit/s: the next permit waits for the 11 units really spent, not the 1 estimated.
  expect(releasedAt - start).toBeGreaterThanOrEqual(11_000);
  limiter.close();
});

test('settling below the estimate gives the difference back without overfilling a window', async () => {
  const limiter = createRateLimiter({ perMinute: 60 }, { now });
  const releases: Release[] = [];
  const big = await limiter.acquire(30);
  releases.push({ at: now(), cost: 10 });
  big.settle(10);
  const start = now();
  const next = await limiter.acquire(20);
  releases.push({ at: now(), cost: 20 });
  expect(now() - start).toBeLessThan(1000);
  next.settle(20);
  releases.push(...demand(limiter, 2, now() + 180_000));
  await vi.advanceTimersByTimeAsync(180_000);
  limiter.close();
  expect(worstWindow(releases, 60_000)).toBeLessThanOrEqual(60);
});

test('pauseUntil holds every acquirer, then resumes at the rate without a burst', async () => {
  const limiter = createRateLimiter({ perSecond: 10 }, { now });
  const start = now();
  const releases = demand(limiter, 5, start + 4000);
  await vi.advanceTimersByTimeAsync(500);
  limiter.pauseUntil(start + 2500);
  await vi.advanceTimersByTimeAsync(3500);
  limiter.close();
  const during = releases.filter((r) => r.at > start + 500 && r.at < start + 2500);
  expect(during).toEqual([]);
  const after = releases.filter((r) => r.at >= start + 2500);
  expect(after.length).toBeGreaterThan(10);
  expect(after.filter((r) => r.at < start + 2600).length).toBeLessThanOrEqual(2);
  expect(worstWindow(releases, 1000)).toBeLessThanOrEqual(10);
});

test('a stalled event loop resumes at the rate instead of releasing the backlog at once', async () => {
  const limiter = createRateLimiter({ perSecond: 100 }, { now });
  const releases = demand(limiter, 20, now() + 3000);
  await vi.advanceTimersByTimeAsync(1000);
  // The clock jumps 500 ms while no timer runs, as in a long synchronous stretch.
  vi.setSystemTime(now() + 500);
  await vi.advanceTimersByTimeAsync(1500);
  limiter.close();
  const stall = now() - 1500;
  const rightAfter = releases.filter((r) => r.at >= stall && r.at < stall + 50);
  expect(rightAfter.length).toBeLessThanOrEqual(7);
  expect(worstWindow(releases, 1000)).toBeLessThanOrEqual(100);
});

test('an aborted acquire rejects with the reason and its place goes to the next', async () => {
  const limiter = createRateLimiter({ perSecond: 1 }, { now });
  await limiter.acquire();
  const controller = new AbortController();
  const aborted = limiter.acquire(1, controller.signal);
  const next = limiter.acquire();
  controller.abort(new Error('stop'));
  await expect(aborted).rejects.toThrow('stop');
  await vi.advanceTimersByTimeAsync(1100);
  await expect(next).resolves.toMatchObject({ cost: 1 });
  await expect(limiter.acquire(1, AbortSignal.abort(new Error('early')))).rejects.toThrow('early');
  limiter.close();
});

test('a cost that is NaN, negative or above the budget is refused naming rateLimit.cost', async () => {
  const limiter = createRateLimiter({ perMinute: 100 }, { now });
  await expect(limiter.acquire(Number.NaN)).rejects.toThrow(InputError);
  await expect(limiter.acquire(-1)).rejects.toThrow(
    /^Expected `rateLimit.cost` to be a number >= 0/,
  );
  await expect(limiter.acquire(101)).rejects.toThrow(
    /`rateLimit.cost` to be at most the whole budget/,
  );
  const permit = await limiter.acquire(5);
  expect(() => permit.settle(-3)).toThrow(/`settle\(actualCost\)`/);
  limiter.close();
});

test('close rejects the waiting acquirers and later ones', async () => {
  const limiter = createRateLimiter({ perSecond: 1 }, { now });
  await limiter.acquire();
  const waiting = limiter.acquire();
  limiter.close();
  await expect(waiting).rejects.toThrow('closed');
  await expect(limiter.acquire()).rejects.toThrow('closed');
});

test('a failing reservation rejects the waiting acquirers instead of hanging them', async () => {
  const limiter = createRateLimiter(
    { perSecond: 5 },
    { now, reserve: () => Promise.reject(new Error('database gone')) },
  );
  await expect(limiter.acquire()).rejects.toThrow('database gone');
  limiter.close();
});
