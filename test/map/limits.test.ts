import { describe, expect, test } from 'vitest';
import { RateLimitedError } from '../../src/errors.ts';
import type { PacingOptions, Permit, RateLimiter } from '../../src/limit/types.ts';
import { parallelMap } from '../../src/map/parallelMap.ts';
import type { ParallelMapDeps, SlotPacer } from '../../src/map/types.ts';

/** A limiter that admits at once and records what was asked of it. */
function recordingLimiter() {
  const log = { acquired: [] as number[], settled: [] as number[], pauses: 0, closed: 0 };
  const limiter: RateLimiter = {
    async acquire(cost = 1, signal) {
      signal?.throwIfAborted();
      log.acquired.push(cost);
      const permit: Permit = { cost, settle: (actual) => void log.settled.push(actual) };
      return permit;
    },
    pauseUntil: () => void log.pauses++,
    close: () => void log.closed++,
  };
  const deps: ParallelMapDeps = { createRateLimiter: () => limiter, sleep: async () => {} };
  return { log, deps };
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

describe('parallelMap limits', () => {
  test('each try takes one permit of rateLimit.cost(input), and the call can settle it', async () => {
    const { log, deps } = recordingLimiter();
    const out = await parallelMap(
      async (prompt: string, { permit, attempt }) => {
        if (prompt === 'retry me' && attempt === 1) throw new Error('flaky');
        permit?.settle(prompt.length * 2);
        return prompt.length;
      },
      ['a', 'bb', 'retry me'],
      {
        rateLimit: { perMinute: 1000, cost: (prompt) => prompt.length },
        retry: { attempts: 2, baseMs: 0, maxMs: 0 },
      },
      deps,
    ).toArray();
    expect(out.every((o) => o.ok)).toBe(true);
    expect(sorted(log.acquired)).toEqual([1, 2, 8, 8]);
    expect(sorted(log.settled)).toEqual([2, 4, 16]);
    expect(log.closed).toBe(1);
  });

  test('a cost that is not a number >= 0 within the budget fails the item, untried', async () => {
    const { log, deps } = recordingLimiter();
    let calls = 0;
    const out = await parallelMap(
      async () => calls++,
      [-1, 5000],
      { rateLimit: { perMinute: 1000, cost: (n) => n }, retry: { attempts: 3 }, ordered: true },
      deps,
    ).toArray();
    expect(out.map((o) => (o.ok ? 'ok' : o.error.message))).toEqual([
      'Expected `rateLimit.cost` to be a number >= 0, got `-1` (number)',
      'Expected `rateLimit.cost` to be at most the whole budget (1000), got `5000` (number)',
    ]);
    expect(calls).toBe(0);
    expect(log.acquired).toEqual([]);
  });

  test('a RateLimitedError pauses the limiter and waits at least Retry-After before the retry', async () => {
    const { log, deps } = recordingLimiter();
    const slept: number[] = [];
    const [outcome] = await parallelMap(
      async (_: number, { attempt }) => {
        if (attempt === 1) throw new RateLimitedError(5000);
        return 'ok';
      },
      [1],
      { rateLimit: { perSecond: 10 }, retry: { attempts: 2, baseMs: 10, maxMs: 10 } },
      { ...deps, sleep: async (ms) => void slept.push(ms) },
    ).toArray();
    expect(outcome?.ok).toBe(true);
    expect(log.pauses).toBe(1);
    expect(slept).toEqual([5000]);
  });

  test('a RateLimitedError on the last try still pauses every slot', async () => {
    const { log, deps } = recordingLimiter();
    const [outcome] = await parallelMap(
      async () => {
        throw new RateLimitedError(2000, 503);
      },
      [1],
      { rateLimit: { perSecond: 10 } },
      deps,
    ).toArray();
    expect(outcome?.ok === false && outcome.error).toMatchObject({ status: 503 });
    expect(log.pauses).toBe(1);
  });

  test('a pacer per worker slot: every call waits on its slot’s pacer first', async () => {
    const pacers: { waits: number; options: PacingOptions }[] = [];
    const createPacer = (options: PacingOptions): SlotPacer => {
      const pacer = { waits: 0, options };
      pacers.push(pacer);
      return {
        async wait() {
          pacer.waits++;
          await new Promise((r) => setTimeout(r, 1));
        },
      };
    };
    let active = 0;
    let highest = 0;
    const out = await parallelMap(
      async (n: number) => {
        active++;
        highest = Math.max(highest, active);
        await new Promise((r) => setTimeout(r, 1));
        active--;
        return n;
      },
      Array.from({ length: 40 }, (_, i) => i),
      { maxParallelism: 3, pacing: { minIntervalMs: 5 } },
      { createPacer },
    ).toArray();
    expect(out).toHaveLength(40);
    expect(pacers).toHaveLength(3);
    expect(pacers[0]?.options).toEqual({ minIntervalMs: 5, jitterMs: 0 });
    expect(pacers.reduce((sum, p) => sum + p.waits, 0)).toBe(40);
    expect(highest).toBeLessThanOrEqual(3);
  });

  test('the real limiter and pacer hold their spacing (lower bounds only)', async () => {
    const started = performance.now();
    await parallelMap(
      async (n: number) => n,
      Array.from({ length: 21 }, (_, i) => i),
      {
        maxParallelism: 10,
        rateLimit: { perSecond: 200 },
      },
    ).toArray();
    // 21 permits at 200/s: the last is due 100 ms after the first, and timers never fire early.
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);

    const starts: number[] = [];
    const pacedFrom = performance.now();
    await parallelMap(
      async (n: number) => {
        starts.push(performance.now() - pacedFrom);
        return n;
      },
      Array.from({ length: 6 }, (_, i) => i),
      { maxParallelism: 2, pacing: { minIntervalMs: 50 } },
    ).toArray();
    // Two slots, each pacing its own starts 50 ms apart: the third and fourth starts come at least
    // 50 ms after the map began, the fifth and sixth at least 100 ms. Measured from the map's
    // start, a loaded machine only makes a start later (comparing two starts with each other, a
    // late first one made a pair look 18 ms short of 50). Two milliseconds of slack for the pacer's
    // clock (Date.now() steps, Node truncates a timer's fractional delay). Unpaced, all are ~0.
    starts.sort((a, b) => a - b);
    starts.forEach((at, i) => {
      expect(at).toBeGreaterThanOrEqual(50 * Math.floor(i / 2) - 2);
    });
  });
});
