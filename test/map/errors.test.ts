import { describe, expect, test } from 'vitest';
import { parallelMap } from '../../src/map/parallelMap.ts';
import { ParallelMapError } from '../../src/map/parallelMapError.ts';
import { countingSource, deferred, flush, untilAborted } from './support.ts';

describe('parallelMap errors', () => {
  test('a throw becomes a failed outcome, and the rest go on', async () => {
    const boom = new Error('boom');
    const out = await parallelMap(
      async (n: number) => {
        if (n === 2) throw boom;
        return n;
      },
      [0, 1, 2, 3],
      { ordered: true },
    ).toArray();
    expect(out[2]).toEqual({ index: 2, input: 2, ok: false, error: boom });
    expect(out.filter((o) => o.ok)).toHaveLength(3);
  });

  test('a thrown non-Error becomes an Error', async () => {
    const [outcome] = await parallelMap(() => Promise.reject('nope'), [1]).toArray();
    expect(outcome?.ok).toBe(false);
    expect(outcome?.ok === false && outcome.error.message).toBe('nope');
  });

  test('stopOnError aborts the others, reads no more inputs, and throws with the index', async () => {
    const { state, source } = countingSource();
    const boom = new Error('boom');
    const failNow = deferred();
    const aborted: number[] = [];
    const map = parallelMap(
      async (n: number, { signal }) => {
        if (n === 1) {
          await failNow.promise;
          throw boom;
        }
        try {
          return await untilAborted(signal);
        } catch (reason) {
          aborted.push(n);
          throw reason;
        }
      },
      source,
      { maxParallelism: 3, stopOnError: true },
    );
    const consumed = (async () => {
      for await (const _ of map) {
        // every call but n === 1 hangs until aborted, so nothing is yielded
      }
    })();
    await flush();
    const readsBefore = state.reads;
    failNow.resolve();
    const error = await consumed.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ParallelMapError);
    expect(error).toMatchObject({ index: 1, cause: boom, message: 'Item 1 failed: boom' });
    await flush();
    expect(aborted.sort()).toEqual([0, 2]);
    expect(state.reads).toBe(readsBefore);
    expect(state.closed).toBe(true);
  });

  test('stopOnError rejects toArray too', async () => {
    const map = parallelMap(
      async (n: number) => {
        if (n === 3) throw new TypeError('bad item');
        return n;
      },
      [0, 1, 2, 3, 4],
      { stopOnError: true },
    );
    await expect(map.toArray()).rejects.toMatchObject({ index: 3, cause: { name: 'TypeError' } });
  });

  test('after the error, iteration is over', async () => {
    const map = parallelMap(() => Promise.reject(new Error('x')), [1, 2], { stopOnError: true });
    await expect(map.next()).rejects.toBeInstanceOf(ParallelMapError);
    await expect(map.next()).resolves.toEqual({ done: true, value: undefined });
  });

  test('an error from the inputs themselves is rethrown as it is', async () => {
    const broken = new Error('source broke');
    async function* source() {
      yield 1;
      yield 2;
      throw broken;
    }
    await expect(parallelMap(async (n: number) => n, source()).toArray()).rejects.toBe(broken);
  });

  test('a sync iterable that throws, on opening or midway, rejects rather than throwing', async () => {
    const broken = new Error('cannot open');
    const unopenable = {
      [Symbol.iterator](): Iterator<number> {
        throw broken;
      },
    };
    const map = parallelMap(async (n: number) => n, unopenable);
    await expect(map.next()).rejects.toBe(broken);
    function* midway() {
      yield 1;
      throw broken;
    }
    await expect(parallelMap(async (n: number) => n, midway()).toArray()).rejects.toBe(broken);
  });

  test('the caller’s signal cancels the map and in-flight calls', async () => {
    const controller = new AbortController();
    const aborted: number[] = [];
    const map = parallelMap(
      (n: number, { signal }) =>
        untilAborted(signal).catch((reason) => {
          aborted.push(n);
          throw reason;
        }),
      [0, 1, 2, 3],
      { maxParallelism: 2, signal: controller.signal },
    );
    const result = map.toArray();
    await flush();
    const reason = new Error('user cancelled');
    controller.abort(reason);
    await expect(result).rejects.toBe(reason);
    await flush();
    expect(aborted.sort()).toEqual([0, 1]);
  });

  test('an already aborted signal starts nothing', async () => {
    let calls = 0;
    const map = parallelMap(async () => calls++, [1, 2], { signal: AbortSignal.abort('stop') });
    await expect(map.toArray()).rejects.toBe('stop');
    expect(calls).toBe(0);
  });
});
