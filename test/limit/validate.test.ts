import { expect, test } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { createRateLimiter } from '../../src/limit/rateLimiter.ts';
import type { RateLimitOptions } from '../../src/limit/types.ts';
import { itemCosts, type LimitOptions, validateLimits } from '../../src/limit/validate.ts';

const refusals: [LimitOptions, string][] = [
  [
    { rateLimit: { perSecond: 0 } },
    'Expected `rateLimit.perSecond` to be a number > 0, got `0` (number)',
  ],
  [
    { rateLimit: { perSecond: -5 } },
    'Expected `rateLimit.perSecond` to be a number > 0, got `-5` (number)',
  ],
  [{ rateLimit: { perSecond: Number.NaN } }, 'Expected `rateLimit.perSecond` to be a number > 0'],
  [
    { rateLimit: { perMinute: 0 } },
    'Expected `rateLimit.perMinute` to be a number > 0, got `0` (number)',
  ],
  [
    { rateLimit: { perMinute: 10, cost: 3 as never } },
    'Expected `rateLimit.cost` to be a function',
  ],
  [
    { rateLimit: { perSecond: 10, cost: (() => 1) as never } },
    'Expected `rateLimit.cost` to be absent',
  ],
  [
    { rateLimit: {} as RateLimitOptions },
    'Expected `rateLimit` to be an object with perSecond or perMinute',
  ],
  [
    { pacing: { minIntervalMs: 0 } },
    'Expected `pacing.minIntervalMs` to be a number > 0, got `0` (number)',
  ],
  [{ pacing: { minIntervalMs: -1 } }, 'Expected `pacing.minIntervalMs` to be a number > 0'],
  [
    { pacing: { minIntervalMs: 10, jitterMs: -3 } },
    'Expected `pacing.jitterMs` to be a number >= 0',
  ],
  [
    { maxParallelism: 0 },
    'Expected `maxParallelism` to be a whole number from 1 to 10000, got `0` (number)',
  ],
  [
    { maxParallelism: 10_001 },
    'Expected `maxParallelism` to be a whole number from 1 to 10000, got `10001` (number)',
  ],
  [
    { maxParallelism: { start: 0, max: 4 } },
    'Expected `maxParallelism.start` to be a whole number from 1 to 10000',
  ],
  [
    { maxParallelism: { start: 8, max: 4 } },
    'Expected `maxParallelism.start` to be <= maxParallelism.max (4), got `8` (number)',
  ],
];

test.each(refusals)('%j is refused in one line naming the option', (limits, message) => {
  expect(() => validateLimits(limits)).toThrow(InputError);
  expect(() => validateLimits(limits)).toThrow(message);
});

test('good limits pass', () => {
  expect(() =>
    validateLimits({
      maxParallelism: { start: 2, max: 8 },
      rateLimit: { perMinute: 60_000, cost: () => 1 },
      pacing: { minIntervalMs: 500, jitterMs: 500 },
    }),
  ).not.toThrow();
});

test('a cost function returning NaN or a negative number is refused naming rateLimit.cost', () => {
  const rateLimit = { perMinute: 1000, cost: (item: unknown) => item as number };
  expect(itemCosts(rateLimit)(12)).toBe(12);
  expect(() => itemCosts(rateLimit)(Number.NaN)).toThrow(
    /^Expected `rateLimit.cost` to be a number >= 0/,
  );
  expect(() => itemCosts(rateLimit)(-1)).toThrow(InputError);
  expect(() => itemCosts(rateLimit)(5000)).toThrow('at most the whole budget (1000)');
});

test('the limiter refuses bad options before it starts', () => {
  expect(() => createRateLimiter({ perSecond: 0 })).toThrow('`rateLimit.perSecond`');
});
