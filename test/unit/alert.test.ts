import { expect, test } from 'vitest';
import { defineJob } from '../../src/job/defineJob.ts';
import { alertReason, alertTrips, validateAlert } from '../../src/observe/alert.ts';
import { progressText } from '../../src/observe/progress.ts';
import { summaryLine } from '../../src/observe/summary.ts';
import { chunks } from '../../src/plan/chunks.ts';

const alert = { failureRate: 0.05, minItems: 100, action: 'pause' } as const;

test('the alert trips only past minItems, and only when failures exceed the rate', () => {
  expect(alertTrips({ processed: 99, failed: 99 }, alert)).toBe(false);
  expect(alertTrips({ processed: 100, failed: 5 }, alert)).toBe(false); // 5% is not above 5%
  expect(alertTrips({ processed: 100, failed: 6 }, alert)).toBe(true);
  expect(alertTrips({ processed: 0, failed: 0 }, { ...alert, minItems: 0 })).toBe(false);
  expect(alertTrips({ processed: 1, failed: 1 }, { ...alert, failureRate: 1 })).toBe(false);
  expect(alertReason({ processed: 120, failed: 9 }, alert)).toBe(
    'failure rate 7.5% > 5% after 120 items',
  );
});

test('alert options get their defaults, and each bad one is refused by name', () => {
  expect(validateAlert({ failureRate: 0.1 })).toEqual({
    failureRate: 0.1,
    minItems: 100,
    action: 'warn',
  });
  expect(validateAlert(undefined)).toBeUndefined();
  const refusal = (options: unknown) => {
    try {
      defineJob({ name: 'j', source: chunks([1], 1), run: () => [], ...(options as object) });
    } catch (error) {
      return (error as Error).message;
    }
  };
  expect(refusal({ alert: { failureRate: 1.5 } })).toBe(
    'Expected `alert.failureRate` to be a number from 0 to 1, got `1.5` (number)',
  );
  expect(refusal({ alert: { failureRate: Number.NaN } })).toBe(
    'Expected `alert.failureRate` to be a number from 0 to 1, got `NaN` (number)',
  );
  expect(refusal({ alert: { failureRate: 0.1, minItems: 2.5 } })).toBe(
    'Expected `alert.minItems` to be a whole number >= 0, got `2.5` (number)',
  );
  expect(refusal({ onAlert: () => {} })).toBe(
    'Expected `alert` to be given with `onAlert`, e.g. { failureRate: 0.05 }, got `undefined` (undefined)',
  );
  expect(refusal({ timeout: 1.5 })).toBe(
    'Expected `timeout` to be a whole number of milliseconds >= 1, got `1.5` (number)',
  );
  expect(refusal({ deadline: new Date('nope') })).toMatch(/^Expected `deadline` to be/);
  expect(refusal({ deadline: new Date(Date.now() + 60_000), timeout: 10 })).toBeUndefined();
});

test('the progress line shows processed, failed with its rate, elapsed and throughput', () => {
  const text = progressText(
    {
      totalTasks: 20,
      totalItems: 200,
      doneTasks: 6,
      doneItems: 54,
      failedTasks: 0,
      failedItems: 6,
      runningTasks: 2,
      itemsThisRun: 54,
      elapsedMs: 2000,
    },
    'items',
    'chunks',
  );
  expect(text).toBe(
    '6/20 chunks · 60/200 items · 6 failed (10.0%) · 2s · 27 items/s · ETA 5s · 2 running',
  );
});

test('a summary says when the run stopped short', () => {
  const base = {
    job: 'j',
    total: 200,
    done: 54,
    failed: 6,
    tasks: { total: 20, done: 6, failed: 0 },
    unit: 'items',
    elapsedMs: 1500,
    itemsPerSec: 36,
    alreadyFinished: false,
    result: undefined,
  };
  expect(summaryLine({ ...base, status: 'paused' })).toBe(
    'Batch paused: 54/200 items, 6 failed (10.0%), 1.5s, 36 items/sec',
  );
  expect(summaryLine({ ...base, status: 'failed', stoppedBy: 'alert' })).toMatch(/^Batch aborted:/);
  expect(summaryLine({ ...base, status: 'cancelled' })).toMatch(/^Batch cancelled:/);
});
