// A misspelt option is refused, naming the key and the option meant, instead of being ignored
// while its default silently applies. One group of options per test.
import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { defineJob } from '../../src/job/defineJob.ts';
import { pipeline, stage } from '../../src/job/taskGraph.ts';
import type { RetryOptions } from '../../src/job/types.ts';
import type { RateLimitOptions } from '../../src/limit/types.ts';
import { parallelMap } from '../../src/map/parallelMap.ts';
import { nearestName, optionNames } from '../../src/optionNames.ts';
import { chunks } from '../../src/plan/chunks.ts';
import { cursor } from '../../src/plan/cursor.ts';
import { fromFile } from '../../src/plan/fileItems.ts';
import { microBatch } from '../../src/plan/microBatch.ts';
import { tableRanges } from '../../src/plan/tableRanges.ts';
import { upsert } from '../../src/sink/upsert.ts';
import { fakeSource } from '../support/fakeSource.ts';

const source = fakeSource;

/** A job with one extra option merged in; `as never` stands for a job module TypeScript never checked. */
function job(extra: object) {
  return () => defineJob({ name: 'a', source, run: (n: number) => n, ...extra } as never);
}

/** Asserts that `make` throws exactly this one-line InputError. */
function refuses(make: () => unknown, message: string): void {
  let thrown: unknown;
  try {
    make();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InputError);
  expect((thrown as Error).message).toBe(message);
}

describe('defineJob({...})', () => {
  test('a misspelt option names the option meant, and the run never gets the default cap', () => {
    refuses(
      job({ maxParalelism: 8 }),
      'Unknown option `maxParalelism` in defineJob({...}); did you mean `maxParallelism`?',
    );
  });
  test('case and swapped letters are near misses too', () => {
    refuses(
      job({ maxparallelism: 8 }),
      'Unknown option `maxparallelism` in defineJob({...}); did you mean `maxParallelism`?',
    );
    refuses(
      job({ retyr: {} }),
      'Unknown option `retyr` in defineJob({...}); did you mean `retry`?',
    );
  });
  test('the name other libraries give the cap points at ours', () => {
    refuses(
      job({ concurrency: 8 }),
      'Unknown option `concurrency` in defineJob({...}); did you mean `maxParallelism`?',
    );
  });
  test('an option near to nothing lists the known ones', () => {
    refuses(
      job({ banana: 1 }),
      'Unknown option `banana` in defineJob({...}); expected one of: name, source, run, each, ' +
        'stages, fanOut, handlers, fanIn, rateLimit, pacing, setup, teardown, maxParallelism, ' +
        'retry, itemKey, alert, onAlert, timeout, deadline, executor, transactional, funcRamMb, ' +
        'funcCpu, prepare, initial, reduce, combine',
    );
  });
  test('is reported before the errors its absence causes', () => {
    const make = () => defineJob({ name: 'a', sorce: source, run: () => 1 } as never);
    refuses(make, 'Unknown option `sorce` in defineJob({...}); did you mean `source`?');
  });
  test('a key that is not an identifier is quoted, so the message stays one line', () => {
    refuses(
      job({ 'max\nparallelism': 2 }),
      'Unknown option `"max\\nparallelism"` in defineJob({...}); did you mean `maxParallelism`?',
    );
  });
  test('an option set to undefined is still checked', () => {
    refuses(
      job({ timout: undefined }),
      'Unknown option `timout` in defineJob({...}); did you mean `timeout`?',
    );
  });
  test('every known option is still accepted', () => {
    const built = defineJob({
      name: 'all',
      source,
      run: (n: number) => n,
      rateLimit: { perMinute: 600, cost: () => 2 },
      pacing: { minIntervalMs: 10, jitterMs: 5 },
      setup: () => undefined,
      teardown: () => undefined,
      maxParallelism: { start: 2, max: 8 },
      retry: {
        attempts: 2,
        backoff: 'fixed',
        baseMs: 10,
        maxMs: 20,
        jitter: 'none',
        retryIf: () => true,
      },
      itemKey: (n) => String(n),
      alert: { failureRate: 0.1, minItems: 10, action: 'pause' },
      onAlert: () => undefined,
      timeout: 1000,
      deadline: 60_000,
      executor: { mode: 'process', parallelism: 2 },
      funcRamMb: 64,
      funcCpu: 2,
      prepare: () => undefined,
      initial: () => 0,
      reduce: (acc: number, report: number) => acc + report,
    });
    expect(built.maxParallelism).toBe(8);
  });
});

describe('groups inside defineJob({...})', () => {
  test.each([
    [{ retry: { atempts: 5 } }, '`retry.atempts`', '`retry.attempts`'],
    [{ rateLimit: { perSecnd: 5 } }, '`rateLimit.perSecnd`', '`rateLimit.perSecond`'],
    [{ rateLimit: { perMinute: 5, costs: () => 1 } }, '`rateLimit.costs`', '`rateLimit.cost`'],
    [{ pacing: { minInterval: 500 } }, '`pacing.minInterval`', '`pacing.minIntervalMs`'],
    [{ pacing: { minIntervalMs: 500, jiterMs: 5 } }, '`pacing.jiterMs`', '`pacing.jitterMs`'],
    [{ maxParallelism: { strat: 1, max: 4 } }, '`maxParallelism.strat`', '`maxParallelism.start`'],
    [
      { executor: { mode: 'thread', paralellism: 2 } },
      '`executor.paralellism`',
      '`executor.parallelism`',
    ],
    [{ alert: { failureRate: 0.1, minitems: 10 } }, '`alert.minitems`', '`alert.minItems`'],
    [{ alert: { failureRate: 0.1, acton: 'pause' } }, '`alert.acton`', '`alert.action`'],
  ])('%j', (extra, key, meant) => {
    refuses(job(extra), `Unknown option ${key} in defineJob({...}); did you mean ${meant}?`);
  });
  test('an unknown key far from every option of its group lists the group', () => {
    refuses(
      job({ maxParallelism: { start: 1, max: 4, step: 1 } }),
      'Unknown option `maxParallelism.step` in defineJob({...}); expected one of: start, max',
    );
  });
  test('a pipeline stage', () => {
    const fn = (x: unknown) => x;
    refuses(
      () => pipeline([stage('a', fn), { name: 'b', fn } as never]),
      'Unknown option `stages[1].fn` in pipeline([...]); did you mean `stages[1].run`?',
    );
    refuses(
      () => defineJob({ name: 'a', source, stages: [{ name: 'a', run: fn, retry: {} }] as never }),
      'Unknown option `stages[0].retry` in pipeline([...]); expected one of: name, run',
    );
  });
});

describe('sources', () => {
  test('tableRanges', () => {
    refuses(
      () => tableRanges({ table: 'items', key: 'id', rowsPerRange: 10, rowsPerRage: 5 } as never),
      'Unknown option `rowsPerRage` in tableRanges({...}); did you mean `rowsPerRange`?',
    );
  });
  test('cursor', () => {
    refuses(
      () => cursor({ table: 'events', key: 'id', batchsize: 100 } as never),
      'Unknown option `batchsize` in cursor({...}); did you mean `batchSize`?',
    );
    refuses(
      () => cursor({ table: 'events', key: 'id', batchSize: 100, colums: ['id'] } as never),
      'Unknown option `colums` in cursor({...}); did you mean `columns`?',
    );
  });
  test('chunks of a file, and fromFile', () => {
    refuses(
      () => chunks({ file: 'items.csv', fromat: 'csv' } as never, 10),
      'Unknown option `fromat` in chunks({ file, ... }); did you mean `format`?',
    );
    refuses(
      () => fromFile('items.csv.gz', { gzipped: true } as never),
      'Unknown option `gzipped` in fromFile(file, {...}); did you mean `gzip`?',
    );
    refuses(
      () => fromFile('items.csv', { file: 'other.csv' } as never),
      'Unknown option `file` in fromFile(file, {...}); expected one of: format, gzip',
    );
  });
  test('microBatch', () => {
    const stream = (async function* () {})();
    refuses(
      () => microBatch(stream, { maxItems: 10, maxWait: 50 } as never),
      'Unknown option `maxWait` in microBatch(stream, {...}); did you mean `maxWaitMs`?',
    );
  });
});

describe('upsert and parallelMap', () => {
  test('upsert refuses before it touches the database', async () => {
    // The options are checked before the first query, so no connection is needed to see it.
    const rows = [{ id: 1 }];
    await expect(
      upsert(undefined as never, 'events', rows, {
        key: ['id'],
        update: 'all',
        batchsize: 10,
      } as never),
    ).rejects.toThrow(
      'Unknown option `batchsize` in upsert(sql, table, rows, {...}); did you mean `batchSize`?',
    );
  });
  test.each([
    [{ concurrency: 4 }, '`concurrency`', '`maxParallelism`'],
    [{ stopOnErorr: true }, '`stopOnErorr`', '`stopOnError`'],
    [{ retry: { attempt: 3 } }, '`retry.attempt`', '`retry.attempts`'],
    [{ rateLimit: { persecond: 3 } }, '`rateLimit.persecond`', '`rateLimit.perSecond`'],
    [{ pacing: { minIntervalMS: 3 } }, '`pacing.minIntervalMS`', '`pacing.minIntervalMs`'],
  ])('parallelMap %j', (options, key, meant) => {
    refuses(
      () => parallelMap((n: number) => n, [1], options as never),
      `Unknown option ${key} in parallelMap(fn, inputs, {...}); did you mean ${meant}?`,
    );
  });
});

test('nearestName: one edit in three (at least two) or a prefix; a swap is one edit; case is ignored', () => {
  const names = ['maxParallelism', 'retry', 'rateLimit', 'pacing'];
  expect(nearestName('maxParalelism', names)).toBe('maxParallelism');
  expect(nearestName('retyr', names)).toBe('retry');
  expect(nearestName('RATELIMIT', names)).toBe('rateLimit');
  expect(nearestName('pacnig', names)).toBe('pacing');
  expect(nearestName('rate', names)).toBe('rateLimit');
  expect(nearestName('banana', names)).toBeUndefined();
  expect(nearestName('x', names)).toBeUndefined();
});

test('optionNames must list every key of its type and nothing else (checked by tsc)', () => {
  // @ts-expect-error `retryIf` is missing, so the list would drift from RetryOptions.
  optionNames<RetryOptions>({
    attempts: true,
    backoff: true,
    baseMs: true,
    maxMs: true,
    jitter: true,
  });
  // @ts-expect-error `burst` is no option of RateLimitOptions.
  optionNames<RateLimitOptions>({ perSecond: true, perMinute: true, cost: true, burst: true });
  // Every member of a union counts: `perSecond` and `perMinute` are each in one member only.
  expect(optionNames<RateLimitOptions>({ perSecond: true, perMinute: true, cost: true })).toEqual([
    'perSecond',
    'perMinute',
    'cost',
  ]);
});
