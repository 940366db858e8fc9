import { describe, expect, test } from 'vitest';
import { PermanentError } from '../../src/errors.ts';
import { sleepUnlessAborted } from '../../src/limit/pacing.ts';
import { parallelMap } from '../../src/map/parallelMap.ts';
import type { ParallelMapDeps } from '../../src/map/types.ts';
import { flush } from './support.ts';

/** Records each backoff instead of sleeping; jitter 0 makes each delay half its ceiling. */
function fakeClock(): ParallelMapDeps & { slept: number[] } {
  const slept: number[] = [];
  return { slept, sleep: async (ms) => void slept.push(ms), random: () => 0 };
}

const retry = { attempts: 4, baseMs: 100, maxMs: 300 };

describe('parallelMap retry', () => {
  test('retries with exponential backoff, then succeeds', async () => {
    const clock = fakeClock();
    const attempts: number[] = [];
    const [outcome] = await parallelMap(
      async (n: number, { attempt }) => {
        attempts.push(attempt);
        if (attempt < 3) throw new Error(`try ${attempt}`);
        return n;
      },
      [7],
      { retry },
      clock,
    ).toArray();
    expect(outcome).toEqual({ index: 0, input: 7, ok: true, value: 7 });
    expect(attempts).toEqual([1, 2, 3]);
    // ceilings 100, 200; equal jitter with random 0 waits half of each
    expect(clock.slept).toEqual([50, 100]);
  });

  test('fails with the last error once the attempts are spent, capped at maxMs', async () => {
    const clock = fakeClock();
    const [outcome] = await parallelMap(
      async (_: number, { attempt }) => {
        throw new Error(`try ${attempt}`);
      },
      [1],
      { retry },
      clock,
    ).toArray();
    expect(outcome?.ok === false && outcome.error.message).toBe('try 4');
    expect(clock.slept).toEqual([50, 100, 150]);
  });

  test('a PermanentError is not retried', async () => {
    const clock = fakeClock();
    let calls = 0;
    const [outcome] = await parallelMap(
      async () => {
        calls++;
        throw new PermanentError('gone for good');
      },
      [1],
      { retry },
      clock,
    ).toArray();
    expect(calls).toBe(1);
    expect(clock.slept).toEqual([]);
    expect(outcome?.ok === false && outcome.error).toBeInstanceOf(PermanentError);
  });

  test('without retry options a failure is final at once', async () => {
    let calls = 0;
    await parallelMap(async () => {
      calls++;
      throw new Error('x');
    }, [1]).toArray();
    expect(calls).toBe(1);
  });

  test('really sleeps between tries with the default clock', async () => {
    const seenAt: number[] = [];
    const [outcome] = await parallelMap(
      async (_: number, { attempt }) => {
        seenAt.push(performance.now());
        if (attempt < 2) throw new Error('once');
        return 'ok';
      },
      [1],
      { retry: { attempts: 2, baseMs: 20, maxMs: 20 } },
    ).toArray();
    expect(outcome?.ok).toBe(true);
    // equal jitter waits at least half the ceiling; timers never fire early
    expect((seenAt[1] ?? 0) - (seenAt[0] ?? 0)).toBeGreaterThanOrEqual(9);
  });

  test('stopOnError cuts other items’ backoff short', async () => {
    let secondTries = 0;
    let sleepCut = false;
    const sleep = (ms: number, signal: AbortSignal) =>
      sleepUnlessAborted(ms, signal).catch((reason) => {
        sleepCut = true;
        throw reason;
      });
    const map = parallelMap(
      async (n: number) => {
        if (n === 1) secondTries++;
        if (n === 0) await new Promise((r) => setTimeout(r, 5));
        throw n === 0 ? new PermanentError('fatal') : new Error('flaky');
      },
      [0, 1],
      {
        maxParallelism: 2,
        stopOnError: true,
        retry: { attempts: 5, baseMs: 60_000, maxMs: 60_000 },
      },
      { sleep },
    );
    await expect(map.toArray()).rejects.toMatchObject({ index: 0 });
    // item 1 was sleeping a minute before its second try; the abort ended that sleep
    await flush();
    expect(sleepCut).toBe(true);
    expect(secondTries).toBe(1);
  });
});
