import { expect, test } from 'vitest';
import { createRateLimiter } from '../../src/limit/rateLimiter.ts';
import type { RateLimiter } from '../../src/limit/types.ts';
import { type Release, worstWindow } from './windows.ts';

/** Keeps `workers` acquirers busy for `ms` of real time. */
async function demand(limiter: RateLimiter, workers: number, ms: number): Promise<void> {
  // Closing at the deadline rejects whoever still waits, so the test ends on time.
  const closing = setTimeout(() => limiter.close(), ms);
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (;;) await limiter.acquire();
    }),
  ).catch(() => clearTimeout(closing));
}

// Real timers on a shared 2-core machine. The cap is asserted exactly on the release times the
// limiter reports; the achieved rate only loosely (bench/limiter.ts measures it to ±2 %). A caller
// that reads the clock after `await` may read it late by an event-loop stall (up to ~20 ms seen
// here under load), which no limiter controls, so those readings are not asserted.
test.each([100, 1000, 5000])(
  'at %i/s no 1-s window of real releases exceeds the rate',
  async (rate) => {
    const releases: Release[] = [];
    const onRelease = (at: number, cost: number) => releases.push({ at, cost });
    await demand(createRateLimiter({ perSecond: rate }, { onRelease }), 50, 2000);
    expect(worstWindow(releases, 1000)).toBeLessThanOrEqual(rate);
    // The mean over 1.5 s is no cap: slots a stalled event loop releases together right after
    // the first second may lift it a little above the rate (5,022/s of 5,000 on a loaded CI run)
    // while every 1-s window holds, which is what the limit promises and is asserted above.
    const first = releases[0]?.at ?? 0;
    const counted = releases.filter((r) => r.at < first + 1500).length;
    expect(counted / 1.5).toBeGreaterThan(rate * 0.8);
  },
);
