import { createHash } from 'node:crypto';
import { expected, InputError, wholeNumber } from '../errors.ts';
import { checkParallelism, validateLimits } from '../limit/validate.ts';
import { optionNames, refuseUnknownOptions } from '../optionNames.ts';
import { validateExecutor } from '../run/executors/options.ts';
import { toJsonText } from '../store/json.ts';
import { validateControl } from './controlOptions.ts';
import { type TaskGraphOptions, validateTaskGraph } from './taskGraph.ts';
import type { Job, JobOptions, RetryOptions, RetryPolicy, Source } from './types.ts';

/** Every default in one place. */
export const jobDefaults = {
  maxParallelism: 4,
  retry: {
    attempts: 3,
    backoff: 'exponential',
    baseMs: 1000,
    maxMs: 30_000,
    jitter: 'equal',
  },
} satisfies Pick<Job, 'maxParallelism' | 'retry'>;

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Where job options are named in messages. */
const jobPlace = 'defineJob({...})';

const jobOptionNames = optionNames<JobOptions<unknown, unknown, unknown, unknown>>({
  name: true,
  source: true,
  run: true,
  each: true,
  stages: true,
  fanOut: true,
  handlers: true,
  fanIn: true,
  rateLimit: true,
  pacing: true,
  setup: true,
  teardown: true,
  maxParallelism: true,
  retry: true,
  itemKey: true,
  alert: true,
  onAlert: true,
  timeout: true,
  deadline: true,
  executor: true,
  transactional: true,
  funcRamMb: true,
  funcCpu: true,
  prepare: true,
  initial: true,
  reduce: true,
  combine: true,
});

/** What p-limit, p-map and BullMQ call the cap. */
const capAliases = { concurrency: 'maxParallelism' };

/** Validates a job definition and fills in its defaults. Throws InputError naming the bad field. */
export function defineJob<Input, Report, Result = undefined, Resource = undefined>(
  options: JobOptions<Input, Report, Result, Resource>,
): Job<Input, Report, Result, Resource> {
  if (typeof options !== 'object' || options === null) throw expected('job', 'an object', options);
  // First: a misspelt option explains the errors that would follow from its absence.
  refuseUnknownOptions(options, jobOptionNames, { where: jobPlace, aliases: capAliases });
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
  const shapes = (['run', 'each', 'stages', 'fanOut'] as const).filter(
    (shape) => options[shape] !== undefined,
  );
  if (shapes.length !== 1) {
    throw new InputError(
      'Expected the job to give exactly one of `run` (a whole task), `each` (one item), `stages` (a pipeline) or `fanOut` (child tasks)',
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
    'combine',
    'setup',
    'teardown',
    'itemKey',
  ] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function')
      throw expected(hook, 'a function', options[hook]);
  }
  if (options.combine !== undefined) checkCombine(options);
  validateLimits({ rateLimit: options.rateLimit, pacing: options.pacing }, jobPlace);
  const cap = checkParallelism(options.maxParallelism ?? jobDefaults.maxParallelism, jobPlace);
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
    retry: validateRetry(options.retry, jobDefaults.retry, jobPlace),
    itemKey: itemKeyFunction(options.itemKey as ((item: unknown) => string) | undefined),
    ...validateControl(options, jobPlace),
    ...validateExecutor(options, jobPlace),
    transactional: checkTransactional(options),
    ...validateTaskGraph(options as TaskGraphOptions),
    prepare: options.prepare,
    initial: options.initial ?? (() => undefined as Result),
    reduce: options.reduce,
    combine: options.combine,
  };
}

/** MapReduce: `combine` merges what `run` returns; nothing else has keyed partials to merge. */
function checkCombine(options: { run?: unknown; initial?: unknown; reduce?: unknown }): void {
  if (options.run === undefined) {
    throw new InputError(
      'Expected `combine` with `run`, which returns keyed partials; `each` records outcomes per item, not a report to combine',
    );
  }
  if (options.initial !== undefined || options.reduce !== undefined) {
    throw new InputError(
      'Expected either `combine` (the result is the combined partials) or `initial`/`reduce`, not both',
    );
  }
}

/**
 * `transactional` commits a task's writes with its completion, both on the worker's own connection.
 * A thread or process worker writes on its own connection while the coordinator records the task on
 * another, and a pipeline stage or fan-out records children: neither can share that transaction.
 * runJob checks again, as `--executor` may change the mode after defineJob.
 */
export function checkTransactional(options: {
  transactional?: unknown;
  executor?: { mode?: unknown };
  stages?: unknown;
  fanOut?: unknown;
}): boolean {
  const given = options.transactional ?? false;
  if (typeof given !== 'boolean') throw expected('transactional', 'true or false', given);
  if (!given) return false;
  const mode = options.executor?.mode;
  if (mode === 'thread' || mode === 'process') {
    throw new InputError(
      `Expected \`transactional\` with executor \`async\` or \`sequential\`, got \`${mode}\`: a ${mode} worker's writes and the task's completion would be on two connections`,
    );
  }
  if (options.stages !== undefined || options.fanOut !== undefined) {
    throw new InputError(
      'Expected `transactional` with `run` or `each`; `stages` and `fanOut` record their next tasks outside the transaction',
    );
  }
  return true;
}

const backoffs = ['exponential', 'fixed'] as const;
const jitters = ['equal', 'full', 'none'] as const;

const retryOptionNames = optionNames<RetryOptions>({
  attempts: true,
  backoff: true,
  baseMs: true,
  maxMs: true,
  jitter: true,
  retryIf: true,
});

/**
 * Checks a retry policy and fills in `defaults`; jobs and parallelMap share it. `where` names the
 * call it was given to, for an unknown option.
 */
export function validateRetry(
  retry: RetryOptions | undefined,
  defaults: Omit<RetryPolicy, 'retryIf'>,
  where: string,
): RetryPolicy {
  if (retry !== undefined && (typeof retry !== 'object' || retry === null)) {
    throw expected('retry', 'an object', retry);
  }
  if (retry !== undefined) refuseUnknownOptions(retry, retryOptionNames, { where, path: 'retry.' });
  const merged = { ...defaults, ...retry };
  const checked: RetryPolicy = {
    attempts: wholeNumber('retry.attempts', merged.attempts, 1),
    backoff: oneOf('retry.backoff', merged.backoff, backoffs),
    baseMs: wholeNumber('retry.baseMs', merged.baseMs, 0),
    maxMs: wholeNumber('retry.maxMs', merged.maxMs, 0),
    jitter: oneOf('retry.jitter', merged.jitter, jitters),
  };
  if (checked.maxMs < checked.baseMs)
    throw expected('retry.maxMs', `>= retry.baseMs (${checked.baseMs})`, checked.maxMs);
  if (merged.retryIf !== undefined) {
    if (typeof merged.retryIf !== 'function')
      throw expected('retry.retryIf', 'a function', merged.retryIf);
    checked.retryIf = merged.retryIf;
  }
  return checked;
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T))
    throw expected(field, allowed.map((a) => `\`${a}\``).join(' or '), value);
  return value as T;
}

// Longer keys are hashed: a btree entry must fit in a third of a page, and long keys help nobody.
const maxKeyLength = 512;

/** An item's own key: a string or number as is, an object's `id`, otherwise its JSON text. */
function ownKey(item: unknown): string {
  if (typeof item === 'string') return item;
  if (typeof item === 'number' || typeof item === 'bigint') return String(item);
  const id = typeof item === 'object' && item !== null ? (item as { id?: unknown }).id : undefined;
  if (typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint') return String(id);
  return toJsonText(item);
}

/**
 * The job's key function, made total: a key is needed while a chunk is being recorded, where a
 * throw would lose the whole chunk, so a custom `itemKey` that throws or returns a non-string
 * falls back to the default key.
 */
function itemKeyFunction(custom: ((item: unknown) => string) | undefined) {
  return (item: unknown): string => {
    let key: unknown;
    try {
      key = custom ? custom(item) : ownKey(item);
    } catch {
      key = undefined;
    }
    const text = typeof key === 'string' ? key : ownKey(item);
    return text.length <= maxKeyLength
      ? text
      : `sha256:${createHash('sha256').update(text).digest('hex')}`;
  };
}

/** True for a value made by defineJob; used when a job module is loaded by path. */
export function isJob(value: unknown): value is Job {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'sluice.job'
  );
}

/** The key of an item when the job gives no `itemKey`. */
export const defaultItemKey = itemKeyFunction(undefined);
