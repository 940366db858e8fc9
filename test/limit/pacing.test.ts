import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { createPacer } from '../../src/limit/pacing.ts';

const now = () => Date.now();

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});

afterEach(() => {
  vi.useRealTimers();
});

test('consecutive items of one worker are at least minIntervalMs plus jitter apart', async () => {
  const jitters = [0, 0.5, 0.99, 0.25];
  let i = 0;
  const pacer = createPacer(
    { minIntervalMs: 500, jitterMs: 400 },
    { now, random: () => jitters[i++ % jitters.length] as number },
  );
  const starts: number[] = [];
  const worker = (async () => {
    for (let n = 0; n < 5; n++) {
      await pacer.wait();
      starts.push(now());
    }
  })();
  await vi.advanceTimersByTimeAsync(5000);
  await worker;
  expect(starts).toEqual([0, 500, 1200, 2096, 2696]);
});

test('time spent on an item counts toward the interval', async () => {
  const pacer = createPacer({ minIntervalMs: 1000 }, { now });
  await pacer.wait();
  vi.setSystemTime(700);
  const waited = pacer.wait().then(() => now());
  await vi.advanceTimersByTimeAsync(300);
  await expect(waited).resolves.toBe(1000);
  vi.setSystemTime(3000);
  await expect(pacer.wait().then(() => now())).resolves.toBe(3000);
});

test('an abort rejects the wait with the reason', async () => {
  const pacer = createPacer({ minIntervalMs: 1000 }, { now });
  await pacer.wait();
  const controller = new AbortController();
  const waiting = pacer.wait(controller.signal);
  controller.abort(new Error('shutdown'));
  await expect(waiting).rejects.toThrow('shutdown');
});

test('a zero or negative pace is refused naming the option', () => {
  expect(() => createPacer({ minIntervalMs: 0 })).toThrow(
    'Expected `pacing.minIntervalMs` to be a number > 0, got `0` (number)',
  );
  expect(() => createPacer({ minIntervalMs: 10, jitterMs: -1 })).toThrow('`pacing.jitterMs`');
});
