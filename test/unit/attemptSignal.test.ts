import { getEventListeners } from 'node:events';
import { expect, test } from 'vitest';
import { attemptSignal } from '../../src/run/taskTimeout.ts';

test('without a timeout an attempt still gets a signal of its own, which follows the run', async () => {
  const run = new AbortController();
  const first = attemptSignal(run.signal, undefined, 1, () => undefined);
  expect(first.signal).not.toBe(run.signal);
  // A job's listener on its attempt's signal is not a listener on the run's.
  first.signal.addEventListener('abort', () => {});
  await first.dispose();
  expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);

  const second = attemptSignal(run.signal, undefined, 2, () => undefined);
  run.abort(new Error('stop'));
  expect(second.signal.aborted).toBe(true);
  expect((second.signal.reason as Error).message).toBe('stop');
  expect(second.timedOut).toBe(false);
  await second.dispose();
});
