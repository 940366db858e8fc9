import { describe, expect, test } from 'vitest';
import { parallelMap } from '../../src/map/parallelMap.ts';
import { countingSource, deferred, flush, untilAborted } from './support.ts';

describe('parallelMap backpressure', () => {
  test('reads an async source only as far as the cap and buffer allow', async () => {
    const { state, source } = countingSource(300);
    const cap = 4;
    const buffer = 2;
    let consumed = 0;
    let mostAhead = 0;
    for await (const _ of parallelMap(async (n: number) => n, source, {
      maxParallelism: cap,
      buffer,
    })) {
      consumed++;
      mostAhead = Math.max(mostAhead, state.reads - consumed);
      expect(state.reads).toBeLessThanOrEqual(consumed + cap + buffer);
      if (consumed % 50 === 0) await flush();
    }
    expect(consumed).toBe(300);
    expect(mostAhead).toBeGreaterThan(0);
  });

  test('a consumer that stops asking stops the work after at most maxParallelism more calls', async () => {
    const { state, source } = countingSource();
    let calls = 0;
    const map = parallelMap(
      async (n: number) => {
        calls++;
        return n;
      },
      source,
      { maxParallelism: 5, buffer: 0 },
    );
    await map.next();
    await flush();
    await flush();
    // One consumed, then up to 5 taken into slots and held: nothing more while nobody asks.
    expect(calls).toBeLessThanOrEqual(1 + 5);
    expect(state.reads).toBeLessThanOrEqual(1 + 5);
    const callsWhileIdle = calls;
    await flush();
    expect(calls).toBe(callsWhileIdle);
    await map.return();
  });

  test('the buffer bounds what a slow first item lets run ahead in input order', async () => {
    const { state, source } = countingSource();
    let release!: () => void;
    const first = new Promise<void>((r) => {
      release = r;
    });
    const map = parallelMap(
      async (n: number) => {
        if (n === 0) await first;
        return n;
      },
      source,
      { maxParallelism: 3, buffer: 3, ordered: true },
    );
    const next = map.next();
    await flush();
    expect(state.reads).toBeLessThanOrEqual(6);
    release();
    expect((await next).value).toMatchObject({ index: 0 });
    await map.return();
  });

  test('breaking out early aborts in-flight calls and closes the source', async () => {
    const { state, source } = countingSource();
    const aborted: number[] = [];
    const firstDone = deferred();
    const map = parallelMap(
      async (n: number, { signal }) => {
        if (n === 0) return firstDone.promise.then(() => n);
        return untilAborted(signal).catch((reason) => {
          aborted.push(n);
          throw reason;
        });
      },
      source,
      { maxParallelism: 4 },
    );
    const seen: number[] = [];
    const consumed = (async () => {
      for await (const outcome of map) {
        seen.push(outcome.index);
        break;
      }
    })();
    await flush();
    firstDone.resolve();
    await consumed;
    await flush();
    expect(seen).toEqual([0]);
    expect(state.closed).toBe(true);
    // 1 to 3 were running; 4 may have started in the slot that 0 freed before the break landed.
    expect(aborted.sort()).toEqual(expect.arrayContaining([1, 2, 3]));
    expect(aborted.length).toBeLessThanOrEqual(4);
    const reads = state.reads;
    await flush();
    expect(state.reads).toBe(reads);
  });

  test('breaking out closes a sync iterator too', async () => {
    let closed = false;
    function* source() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const _ of parallelMap(async (n: number) => n, source())) break;
    expect(closed).toBe(true);
  });
});
