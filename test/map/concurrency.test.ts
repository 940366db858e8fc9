import { describe, expect, test } from 'vitest';
import { parallelMap } from '../../src/map/parallelMap.ts';

describe('parallelMap concurrency', () => {
  test.each([1, 5, 32])(
    'never runs more than maxParallelism (%i) calls, and reaches it',
    async (cap) => {
      let active = 0;
      let highest = 0;
      const out = await parallelMap(
        async (n: number) => {
          active++;
          highest = Math.max(highest, active);
          await new Promise((r) => setTimeout(r, n % 3));
          active--;
          return n;
        },
        Array.from({ length: 200 }, (_, i) => i),
        { maxParallelism: cap },
      ).toArray();
      expect(out).toHaveLength(200);
      expect(highest).toBe(cap);
    },
  );

  test('the cap holds while a consumer iterates slowly, in input order', async () => {
    let active = 0;
    let highest = 0;
    const map = parallelMap(
      async (n: number) => {
        active++;
        highest = Math.max(highest, active);
        await new Promise((r) => setTimeout(r, (n * 5) % 4));
        active--;
        return n;
      },
      Array.from({ length: 100 }, (_, i) => i),
      { maxParallelism: 4, ordered: true },
    );
    const seen: number[] = [];
    for await (const outcome of map) {
      seen.push(outcome.index);
      if (outcome.index % 10 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(highest).toBeLessThanOrEqual(4);
  });
});
