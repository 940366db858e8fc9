import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { parallelMap } from '../../src/map/parallelMap.ts';

const fn = async (n: number) => n;

describe('parallelMap options', () => {
  test.each([
    [
      { maxParallelism: 0 },
      'Expected `maxParallelism` to be a whole number >= 1, got `0` (number)',
    ],
    [
      { maxParallelism: 2.5 },
      'Expected `maxParallelism` to be a whole number >= 1, got `2.5` (number)',
    ],
    [{ buffer: -1 }, 'Expected `buffer` to be a whole number >= 0, got `-1` (number)'],
    [{ ordered: 'yes' }, 'Expected `ordered` to be true or false, got `"yes"` (string)'],
    [{ stopOnError: 1 }, 'Expected `stopOnError` to be true or false, got `1` (number)'],
    [{ retry: 3 }, 'Expected `retry` to be an object, got `3` (number)'],
    [
      { retry: { attempts: 0 } },
      'Expected `retry.attempts` to be a whole number >= 1, got `0` (number)',
    ],
    [
      { retry: { baseMs: 500, maxMs: 100 } },
      'Expected `retry.maxMs` to be >= retry.baseMs (500), got `100` (number)',
    ],
    [
      { rateLimit: { perSecond: 0 } },
      'Expected `rateLimit.perSecond` to be a number > 0, got `0` (number)',
    ],
    [
      { rateLimit: { perMinute: 60, cost: 3 } },
      'Expected `rateLimit.cost` to be a function (item) => number, got `3` (number)',
    ],
    [
      { pacing: { minIntervalMs: -5 } },
      'Expected `pacing.minIntervalMs` to be a number > 0, got `-5` (number)',
    ],
    [{ signal: 'stop' }, 'Expected `signal` to be an AbortSignal, got `"stop"` (string)'],
  ])('rejects %j before doing any work', (options, message) => {
    let error: unknown;
    try {
      parallelMap(fn, [1], options as never);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(message);
  });

  test('rejects a missing function, bad inputs and bad options objects', () => {
    expect(() => parallelMap('f' as never, [1])).toThrow(
      'Expected `fn` to be a function, got `"f"` (string)',
    );
    expect(() => parallelMap(fn, 'abc' as never)).toThrow(
      'Expected `inputs` to be an array, an iterable or an async iterable (not a string), got `"abc"` (string)',
    );
    expect(() => parallelMap(fn, [1], { maxParallelism: Number.POSITIVE_INFINITY })).toThrow(
      'Expected `maxParallelism` to be a whole number >= 1',
    );
    expect(() => parallelMap(fn, 5 as never)).toThrow('Expected `inputs` to be an array');
    expect(() => parallelMap(fn, [1], null as never)).toThrow(
      'Expected `options` to be an object, got `null` (null)',
    );
  });
});
