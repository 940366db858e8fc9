import { expected, wholeNumber } from '../errors.ts';
import { optionNames, refuseUnknownOptions } from '../optionNames.ts';
import type { PacingOptions, RateLimitOptions } from './types.ts';

/** A concurrency cap: a fixed number, or an adaptive range that starts low and ramps up to `max`. */
export type ParallelismOption = number | { start: number; max: number };

/** The limits a job or parallelMap may declare; each is optional. */
export interface LimitOptions {
  maxParallelism?: ParallelismOption;
  rateLimit?: RateLimitOptions;
  pacing?: PacingOptions;
}

/** A rate as a budget per period: perSecond N is N per 1,000 ms, perMinute N is N per 60,000 ms. */
export interface RateBudget {
  budget: number;
  periodMs: number;
}

const rateLimitNames = optionNames<RateLimitOptions>({
  perSecond: true,
  perMinute: true,
  cost: true,
});
const pacingNames = optionNames<PacingOptions>({ minIntervalMs: true, jitterMs: true });
const adaptiveCapNames = optionNames<Exclude<ParallelismOption, number>>({
  start: true,
  max: true,
});

// Limiters check their options again when they are made, from options that defineJob or
// parallelMap checked first, naming their call; there an unknown option cannot occur any more.
const checkedAlready = 'the limits';

/**
 * Checks every limit a job declares, before anything runs or is written. Throws one InputError
 * naming the first bad option, e.g. ``Expected `rateLimit.perSecond` to be a number > 0, got `0` (number)``.
 * `where` names the call the limits were given to, for an unknown option.
 */
export function validateLimits(limits: LimitOptions, where = checkedAlready): void {
  if (limits.maxParallelism !== undefined) checkParallelism(limits.maxParallelism, where);
  if (limits.rateLimit !== undefined) rateBudget(limits.rateLimit, where);
  if (limits.pacing !== undefined) checkPacing(limits.pacing, where);
}

/** Validates a rate limit and returns its budget and period. */
export function rateBudget(options: RateLimitOptions, where = checkedAlready): RateBudget {
  if (typeof options !== 'object' || options === null) {
    throw expected('rateLimit', 'an object such as { perSecond: 10 }', options);
  }
  refuseUnknownOptions(options, rateLimitNames, { where, path: 'rateLimit.' });
  const { perSecond, perMinute, cost } = options as Record<string, unknown>;
  if (perSecond !== undefined && perMinute !== undefined) {
    throw expected('rateLimit', 'either perSecond or perMinute, not both', options);
  }
  if (perSecond !== undefined) {
    if (cost !== undefined) {
      throw expected(
        'rateLimit.cost',
        'absent with perSecond (a cost budget uses perMinute)',
        cost,
      );
    }
    return { budget: positive('rateLimit.perSecond', perSecond), periodMs: 1000 };
  }
  if (perMinute === undefined) {
    throw expected('rateLimit', 'an object with perSecond or perMinute', options);
  }
  if (cost !== undefined && typeof cost !== 'function') {
    throw expected('rateLimit.cost', 'a function (item) => number', cost);
  }
  return { budget: positive('rateLimit.perMinute', perMinute), periodMs: 60_000 };
}

/** Validates pacing and fills in the default jitter of 0. */
export function checkPacing(
  options: PacingOptions,
  where = checkedAlready,
): Required<PacingOptions> {
  if (typeof options !== 'object' || options === null) {
    throw expected('pacing', 'an object such as { minIntervalMs: 500 }', options);
  }
  refuseUnknownOptions(options, pacingNames, { where, path: 'pacing.' });
  const minIntervalMs = positive('pacing.minIntervalMs', options.minIntervalMs);
  const jitterMs = options.jitterMs ?? 0;
  if (typeof jitterMs !== 'number' || !Number.isFinite(jitterMs) || jitterMs < 0) {
    throw expected('pacing.jitterMs', 'a number >= 0', jitterMs);
  }
  return { minIntervalMs, jitterMs };
}

/**
 * The highest cap a job may have: each unit of it is a row of sluice.job_slots (migration 0017),
 * and a claim may scan the held ones. Far above what one PostgreSQL serves at once.
 */
export const maxJobParallelism = 10_000;

/** Validates a fixed or adaptive cap; returns it as a range (a fixed cap starts at its max). */
export function checkParallelism(
  option: ParallelismOption,
  where = checkedAlready,
): { start: number; max: number } {
  if (typeof option === 'number') {
    const cap = wholeNumber('maxParallelism', option, 1, maxJobParallelism);
    return { start: cap, max: cap };
  }
  if (typeof option !== 'object' || option === null) {
    throw expected('maxParallelism', 'a whole number >= 1 or { start, max }', option);
  }
  refuseUnknownOptions(option, adaptiveCapNames, { where, path: 'maxParallelism.' });
  const start = wholeNumber('maxParallelism.start', option.start, 1, maxJobParallelism);
  const max = wholeNumber('maxParallelism.max', option.max, 1, maxJobParallelism);
  if (start > max) throw expected('maxParallelism.start', `<= maxParallelism.max (${max})`, start);
  return { start, max };
}

/**
 * What each item costs under the rate limit: the job's cost function (1 without one), checked
 * where it is called, because a NaN or negative estimate would silently break the budget. The
 * budget is worked out once: this runs for every item.
 */
export function itemCosts(options: RateLimitOptions | undefined): (item: unknown) => number {
  if (!options) return () => 1;
  const { budget } = rateBudget(options);
  const cost = options.cost;
  return (item) => checkCost('rateLimit.cost', cost ? cost(item) : 1, budget);
}

/** A cost must be a finite number >= 0 and, when a budget is given, fit in one window. */
export function checkCost(field: string, cost: unknown, budget = Number.POSITIVE_INFINITY): number {
  if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) {
    throw expected(field, 'a number >= 0', cost);
  }
  if (cost > budget) throw expected(field, `at most the whole budget (${budget})`, cost);
  return cost;
}

function positive(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw expected(field, 'a number > 0', value);
  }
  return value;
}
