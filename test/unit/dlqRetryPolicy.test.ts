import { describe, expect, test } from 'vitest';
import { InputError, PermanentError, RateLimitedError } from '../../src/errors.ts';
import { defaultItemKey, defineJob } from '../../src/job/defineJob.ts';
import { failed } from '../../src/job/outcome.ts';
import type { Source } from '../../src/job/types.ts';
import { backoffMs, canRetry } from '../../src/run/backoff.ts';

const source: Source<number[]> = {
  describe: 'fake',
  fingerprint: 'f',
  unit: 'items',
  taskNoun: 'chunks',
  outcomes: true,
  input: (payload) => payload as number[],
  async *plan() {},
};

describe('retry policy', () => {
  test.each([
    [{ attempts: 0 }, 'Expected `retry.attempts` to be a whole number >= 1, got `0` (number)'],
    [{ attempts: 1.5 }, 'Expected `retry.attempts` to be a whole number >= 1, got `1.5` (number)'],
    [
      { backoff: 'linear' },
      'Expected `retry.backoff` to be `exponential` or `fixed`, got `"linear"` (string)',
    ],
    [
      { jitter: 'half' },
      'Expected `retry.jitter` to be `equal` or `full` or `none`, got `"half"` (string)',
    ],
    [{ retryIf: true }, 'Expected `retry.retryIf` to be a function, got `true` (boolean)'],
  ])('refuses %j', (retry, message) => {
    const make = () => defineJob({ name: 'a', source, each: () => 1, retry: retry as object });
    expect(make).toThrow(InputError);
    expect(make).toThrow(message);
  });

  test('fixed backoff waits baseMs every time; jitter none, full and equal', () => {
    const fixed = { backoff: 'fixed', baseMs: 100, maxMs: 1000, jitter: 'none' } as const;
    expect([1, 2, 5].map((n) => backoffMs(n, fixed))).toEqual([100, 100, 100]);
    const exact = { backoff: 'exponential', baseMs: 100, maxMs: 1000, jitter: 'none' } as const;
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, exact))).toEqual([100, 200, 400, 800, 1000]);
    const full = { ...exact, jitter: 'full' } as const;
    expect(backoffMs(3, full, () => 0)).toBe(0);
    expect(backoffMs(3, full, () => 1)).toBe(400);
    const equal = { ...exact, jitter: 'equal' } as const;
    expect(backoffMs(3, equal, () => 0)).toBe(200);
    expect(backoffMs(3, equal, () => 1)).toBe(400);
  });

  test('only errors that can succeed on a retry are retried', () => {
    const never = { retryIf: () => false };
    expect(canRetry(new Error('x'), 1, {})).toBe(true);
    expect(canRetry(new PermanentError('x'), 1, {})).toBe(false);
    expect(canRetry(new InputError('no unique constraint'), 1, {})).toBe(false);
    expect(canRetry(new Error('x'), 1, never)).toBe(false);
    // A 429 is the far side asking us to come back, whatever retryIf says.
    expect(canRetry(new RateLimitedError(10), 1, never)).toBe(true);
    const seen: unknown[] = [];
    const odd = {
      retryIf: (_e: Error, item: unknown) => {
        seen.push(item);
        return (item as number) % 2 === 1;
      },
    };
    expect([canRetry(new Error('x'), 1, odd), canRetry(new Error('x'), 2, odd)]).toEqual([
      true,
      false,
    ]);
    expect(seen).toEqual([1, 2]);
    const broken = {
      retryIf: () => {
        throw new Error('bug');
      },
    };
    expect(canRetry(new Error('x'), 1, broken)).toBe(false);
  });
});

describe('item keys and failed outcomes', () => {
  test('default key: the item, its id, or its JSON text; long keys are hashed', () => {
    expect(defaultItemKey('abc')).toBe('abc');
    expect(defaultItemKey(42)).toBe('42');
    expect(defaultItemKey({ id: 7, name: 'x' })).toBe('7');
    expect(defaultItemKey({ url: 'https://a' })).toBe('{"url":"https://a"}');
    expect(defaultItemKey('x'.repeat(600))).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('a custom itemKey is used, and one that throws falls back to the default', () => {
    const job = defineJob({
      name: 'a',
      source,
      each: () => 1,
      itemKey: (n) => {
        if (n === 0) throw new Error('no key');
        return `n${n}`;
      },
    });
    expect(job.itemKey(3)).toBe('n3');
    expect(job.itemKey(0)).toBe('0');
    expect(() => defineJob({ name: 'a', source, each: () => 1, itemKey: 'id' as never })).toThrow(
      'Expected `itemKey` to be a function, got `"id"` (string)',
    );
  });

  test('failed(item, error, status) keeps its shape and adds the stack', () => {
    const error = new Error('boom');
    expect(failed('a', error, 503)).toEqual({
      item: 'a',
      ok: false,
      error: 'boom',
      status: 503,
      stack: error.stack,
    });
    expect(failed('a', 'plain')).toEqual({ item: 'a', ok: false, error: 'plain' });
    expect(failed('a', error, undefined, 3)).toMatchObject({ attempts: 3 });
  });
});
