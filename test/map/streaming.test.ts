import { describe, expect, test } from 'vitest';
import { parallelMap } from '../../src/map/parallelMap.ts';
import type { MapOutcome } from '../../src/map/types.ts';
import { type Deferred, deferred, flush } from './support.ts';

/** Maps three inputs whose calls the test finishes in the order 2, 0, 1. */
async function finishOutOfOrder(ordered: boolean): Promise<number[]> {
  const calls: Deferred<string>[] = [deferred(), deferred(), deferred()];
  const map = parallelMap((n: number) => calls[n]?.promise, [0, 1, 2], {
    maxParallelism: 3,
    ordered,
  });
  const seen: number[] = [];
  const consumed = (async () => {
    for await (const outcome of map) seen.push(outcome.index);
  })();
  for (const n of [2, 0, 1]) {
    calls[n]?.resolve(`v${n}`);
    await flush();
  }
  await consumed;
  return seen;
}

describe('parallelMap streaming', () => {
  test('yields outcomes as they finish by default', async () => {
    expect(await finishOutOfOrder(false)).toEqual([2, 0, 1]);
  });

  test('ordered: true yields in input order', async () => {
    expect(await finishOutOfOrder(true)).toEqual([0, 1, 2]);
  });

  test('an outcome carries index, input and value', async () => {
    const out = await parallelMap((s: string) => s.toUpperCase(), ['a', 'b'], {
      ordered: true,
    }).toArray();
    expect(out).toEqual([
      { index: 0, input: 'a', ok: true, value: 'A' },
      { index: 1, input: 'b', ok: true, value: 'B' },
    ]);
  });

  test('toArray collects everything, in input order when ordered', async () => {
    const inputs = Array.from({ length: 500 }, (_, i) => i);
    const delay = (n: number) => new Promise((r) => setTimeout(r, (n * 7) % 3));
    const out = await parallelMap(
      async (n: number) => {
        await delay(n);
        return n * 2;
      },
      inputs,
      { maxParallelism: 20, ordered: true },
    ).toArray();
    expect(out.map((o) => (o.ok ? o.value : -1))).toEqual(inputs.map((n) => n * 2));
  });

  test('reads arrays, sync iterables and async iterables alike', async () => {
    function* sync() {
      yield* [1, 2, 3];
    }
    async function* lazy() {
      yield* [1, 2, 3];
    }
    const double = async (n: number) => n * 2;
    const values = (outcomes: MapOutcome<number, number>[]) =>
      outcomes.map((o) => (o.ok ? o.value : undefined)).sort();
    for (const inputs of [[1, 2, 3], new Set([1, 2, 3]), sync(), lazy()]) {
      expect(values(await parallelMap(double, inputs, { maxParallelism: 2 }).toArray())).toEqual([
        2, 4, 6,
      ]);
    }
  });

  test('no inputs: ends at once', async () => {
    expect(await parallelMap(async (n: number) => n, []).toArray()).toEqual([]);
    const seen: unknown[] = [];
    for await (const outcome of parallelMap(async (n: number) => n, [])) seen.push(outcome);
    expect(seen).toEqual([]);
  });

  test('a function that returns a plain value or throws synchronously works too', async () => {
    const out = await parallelMap(
      (n: number) => {
        if (n === 1) throw new Error('sync boom');
        return n;
      },
      [0, 1, 2],
      { ordered: true },
    ).toArray();
    expect(out.map((o) => o.ok)).toEqual([true, false, true]);
  });

  test('next() calls made at once are answered in turn', async () => {
    const map = parallelMap(async (n: number) => n, [0, 1, 2], { ordered: true });
    const results = await Promise.all([map.next(), map.next(), map.next(), map.next()]);
    expect(results.map((r) => (r.done ? 'done' : r.value.index))).toEqual([0, 1, 2, 'done']);
  });

  test('results can be consumed once', async () => {
    const map = parallelMap(async (n: number) => n, [1]);
    await map.toArray();
    await expect(map.toArray()).rejects.toThrow('can be consumed once');
    await expect(map.next()).rejects.toThrow('can be consumed once');
  });

  test('does no work until consumed', async () => {
    let calls = 0;
    parallelMap(async () => calls++, [1, 2, 3]);
    await flush();
    expect(calls).toBe(0);
  });
});
