import { expected, InputError } from '../errors.ts';
import { checkParallelism, validateLimits } from '../limit/validate.ts';
import type { Job, JobOptions, RetryOptions, Source } from './types.ts';

/** Every default in one place. */
export const jobDefaults = {
  maxParallelism: 4,
  retry: { attempts: 3, baseMs: 1000, maxMs: 30_000 },
} satisfies Pick<Job, 'maxParallelism' | 'retry'>;

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Validates a job definition and fills in its defaults. Throws InputError naming the bad field. */
export function defineJob<Input, Report, Result = undefined, Resource = undefined>(
  options: JobOptions<Input, Report, Result, Resource>,
): Job<Input, Report, Result, Resource> {
  if (typeof options !== 'object' || options === null) throw expected('job', 'an object', options);
  if (typeof options.name !== 'string' || !namePattern.test(options.name)) {
    throw expected(
      'name',
      'letters, digits, `.`, `_`, `:` or `-` (1 to 128, starting with a letter or digit)',
      options.name,
    );
  }
  const source = options.source as unknown;
  if (
    typeof source !== 'object' ||
    source === null ||
    typeof (source as { plan?: unknown }).plan !== 'function'
  ) {
    throw expected('source', 'a source such as tableRanges({...})', source);
  }
  if ((options.run === undefined) === (options.each === undefined)) {
    throw new InputError(
      'Expected the job to give exactly one of `run` (a whole task) or `each` (one item)',
    );
  }
  if (options.each !== undefined && !(source as Source<unknown>).outcomes) {
    throw expected(
      'each',
      'used with a chunks(...) source (a table range runs with `run`)',
      options.each,
    );
  }
  for (const hook of [
    'run',
    'each',
    'prepare',
    'initial',
    'reduce',
    'setup',
    'teardown',
  ] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function')
      throw expected(hook, 'a function', options[hook]);
  }
  validateLimits({ rateLimit: options.rateLimit, pacing: options.pacing });
  const cap = checkParallelism(options.maxParallelism ?? jobDefaults.maxParallelism);
  return {
    kind: 'sluice.job',
    name: options.name,
    source: options.source,
    run: options.run,
    each: options.each,
    rateLimit: options.rateLimit,
    pacing: options.pacing,
    setup: options.setup,
    teardown: options.teardown,
    maxParallelism: cap.max,
    adaptiveStart: cap.start < cap.max ? cap.start : undefined,
    retry: validateRetry(options.retry),
    prepare: options.prepare,
    initial: options.initial ?? (() => undefined as Result),
    reduce: options.reduce,
  };
}

function validateRetry(retry: RetryOptions | undefined): Required<RetryOptions> {
  const merged = { ...jobDefaults.retry, ...retry };
  const checked = {
    attempts: wholeNumber('retry.attempts', merged.attempts, 1),
    baseMs: wholeNumber('retry.baseMs', merged.baseMs, 0),
    maxMs: wholeNumber('retry.maxMs', merged.maxMs, 0),
  };
  if (checked.maxMs < checked.baseMs)
    throw expected('retry.maxMs', `>= retry.baseMs (${checked.baseMs})`, checked.maxMs);
  return checked;
}

/** Checks that a value is a whole number at least `min`, naming the field when it is not. */
export function wholeNumber(field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw expected(field, `a whole number >= ${min}`, value);
  }
  return value;
}

/** True for a value made by defineJob; used when a job module is loaded by path. */
export function isJob(value: unknown): value is Job {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'sluice.job'
  );
}
