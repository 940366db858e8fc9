import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { defineJob } from '../../src/job/defineJob.ts';
import { progressText } from '../../src/observe/progress.ts';
import { summaryLine } from '../../src/observe/summary.ts';
import { backoffMs } from '../../src/run/backoff.ts';
import { fakeSource } from '../support/fakeSource.ts';

const source = fakeSource;

describe('defineJob', () => {
  test('fills in defaults', () => {
    const job = defineJob({ name: 'a', source, run: (n) => n });
    expect(job.maxParallelism).toBe(4);
    expect(job.retry).toEqual({
      attempts: 3,
      backoff: 'exponential',
      baseMs: 1000,
      maxMs: 30_000,
      jitter: 'equal',
    });
  });
  test.each([
    [
      { maxParallelism: 0 },
      'Expected `maxParallelism` to be a whole number from 1 to 10000, got `0` (number)',
    ],
    [
      { maxParallelism: 2.5 },
      'Expected `maxParallelism` to be a whole number from 1 to 10000, got `2.5` (number)',
    ],
    [
      { retry: { attempts: 0 } },
      'Expected `retry.attempts` to be a whole number >= 1, got `0` (number)',
    ],
    [
      { retry: { baseMs: 500, maxMs: 100 } },
      'Expected `retry.maxMs` to be >= retry.baseMs (500), got `100` (number)',
    ],
    [{ name: 'has space' }, 'Expected `name` to be'],
    [{ source: {} }, 'Expected `source` to be a source'],
    [{ run: 'nope' }, 'Expected `run` to be a function, got `"nope"` (string)'],
  ])('rejects %j', (override, message) => {
    const make = () =>
      defineJob({ name: 'a', source, run: (n: number) => n, ...(override as object) });
    expect(make).toThrow(InputError);
    expect(make).toThrow(message);
  });
});

test('backoff grows exponentially, stays within half-to-full of its ceiling, and is capped', () => {
  const retry = { attempts: 10, baseMs: 100, maxMs: 1000 };
  expect(backoffMs(1, retry, () => 0)).toBe(50);
  expect(backoffMs(1, retry, () => 1)).toBe(100);
  expect(backoffMs(3, retry, () => 0)).toBe(200);
  expect(backoffMs(3, retry, () => 1)).toBe(400);
  expect(backoffMs(9, retry, () => 1)).toBe(1000);
});

test('the summary line has the seed’s five metrics', () => {
  const line = summaryLine({
    job: 'j',
    status: 'failed',
    total: 1000,
    done: 950,
    failed: 50,
    tasks: { total: 10, done: 9, failed: 1 },
    unit: 'rows',
    elapsedMs: 2500,
    itemsPerSec: 380,
    alreadyFinished: false,
    result: undefined,
  });
  expect(line).toBe('Batch complete: 950/1000 items, 50 failed (5.0%), 2.5s, 380 items/sec');
});

test('the summary line names failed tasks that hold no items (fan-out children)', () => {
  const line = summaryLine({
    job: 'j',
    status: 'failed',
    total: 40,
    done: 40,
    failed: 0,
    tasks: { total: 180, done: 174, failed: 6 },
    unit: 'items',
    elapsedMs: 1000,
    itemsPerSec: 40,
    alreadyFinished: false,
    result: undefined,
  });
  expect(line).toBe(
    'Batch complete: 40/40 items, 0 failed (0.0%), 1.0s, 40 items/sec; 6 tasks failed',
  );
});

test('progress shows tasks, processed, failed %, elapsed, rate and ETA', () => {
  const text = progressText(
    {
      totalTasks: 40,
      totalItems: 1_000_000,
      doneTasks: 10,
      doneItems: 250_000,
      failedTasks: 0,
      failedItems: 0,
      runningTasks: 20,
      itemsThisRun: 250_000,
      elapsedMs: 1000,
    },
    'rows',
    'ranges',
  );
  expect(text).toBe(
    '10/40 ranges · 250,000/1,000,000 rows · 0 failed (0.0%) · 1s · 250,000 rows/s · ETA 3s · 20 running',
  );
});
