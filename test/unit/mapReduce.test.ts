import { expect, test } from 'vitest';
import { PermanentError } from '../../src/errors.ts';
import { chunks, defineJob } from '../../src/index.ts';
import { combineReports, keyedPartials, sortedRecord } from '../../src/run/mapReduce.ts';

async function* reports(...list: unknown[]) {
  for (const [seq, report] of list.entries()) yield { seq, report };
}

test('partials of one key fold in plan order; keys come out sorted, whole numbers first', async () => {
  const combined = await combineReports(
    (a, b, key) => `${a}+${b}@${key}`,
    reports(
      keyedPartials(
        new Map<string | number, string>([
          ['b', 'b0'],
          [10, 'n0'],
          ['a', 'a0'],
        ]),
      ),
      keyedPartials({ a: 'a1', 2: 'x1' }),
      keyedPartials(new Map([[10, 'n2']])),
    ),
  );
  expect(combined).toEqual({ 2: 'x1', 10: 'n0+n2@10', a: 'a0+a1@a', b: 'b0' });
  expect(Object.keys(combined)).toEqual(['2', '10', 'a', 'b']);
  expect(Object.keys(sortedRecord({ b: 1, B: 2, a: 3, 11: 4, 9: 5, '-1': 6 }))).toEqual([
    '9',
    '11',
    '-1',
    'B',
    'a',
    'b',
  ]);
});

test('a map result that is not keyed partials is a permanent failure naming what came back', () => {
  for (const bad of [[1, 2], 'text', 7, null, new Set([1]), new Date(0)]) {
    expect(() => keyedPartials(bad)).toThrow(PermanentError);
  }
  expect(() => keyedPartials(new Map([[{ id: 1 }, 1]]))).toThrow(
    'Expected `run() keys` to be strings or finite numbers, got `{"id":1}` (object)',
  );
  expect(() => keyedPartials(new Map([[Number.NaN, 1]]))).toThrow(PermanentError);
  expect(keyedPartials(Object.create(null))).toEqual([]);
});

test('a report stored before the job gave combine is refused, not silently dropped', async () => {
  await expect(combineReports((a) => a, reports({ ok: 1 }))).rejects.toThrow(
    /Task 0 holds a report that is not keyed partials/,
  );
});

test('combine must be a function, and goes only with run', () => {
  const source = chunks([1, 2, 3], 2);
  expect(() => defineJob({ name: 'x', source, run: () => ({}), combine: 'sum' as never })).toThrow(
    'Expected `combine` to be a function, got `"sum"` (string)',
  );
  expect(() =>
    defineJob({ name: 'x', source, each: (n: number) => n, combine: ((a: number) => a) as never }),
  ).toThrow(/^Expected `combine` with `run`/);
  expect(() =>
    defineJob({ name: 'x', source, run: () => ({}), combine: (a) => a, reduce: (acc) => acc }),
  ).toThrow(/not both$/);
  const job = defineJob({
    name: 'x',
    source,
    run: () => new Map([['k', 1]]),
    combine: (a, b) => a + b,
  });
  expect(typeof job.combine).toBe('function');
});
