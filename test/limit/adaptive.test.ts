import { expect, test } from 'vitest';
import { type CapChangeReason, createAdaptiveCap } from '../../src/limit/adaptive.ts';

function setup(start: number, max: number) {
  let t = 0;
  const changes: [number, CapChangeReason][] = [];
  const cap = createAdaptiveCap(
    { start, max },
    { now: () => t, windowSize: 10, onChange: (n, reason) => changes.push([n, reason]) },
  );
  const clean = (windows: number, latencyMs = 100) => {
    for (let i = 0; i < windows * Math.max(10, cap.current()); i++)
      cap.record({ ok: true, latencyMs });
  };
  return { cap, changes, clean, advance: (ms: number) => (t += ms) };
}

test('clean windows with flat latency raise the cap by 1 each, up to max', () => {
  const { cap, changes, clean } = setup(2, 5);
  clean(1);
  expect(cap.current()).toBe(3);
  for (let i = 0; i < 10; i++) clean(1, 110);
  expect(cap.current()).toBe(5);
  expect(changes).toEqual([
    [3, 'clean'],
    [4, 'clean'],
    [5, 'clean'],
  ]);
});

test('a 429 halves the cap once per cooldown, never below 1', () => {
  const { cap, changes, clean, advance } = setup(8, 8);
  cap.record({ ok: false, latencyMs: 5, throttled: true });
  expect(cap.current()).toBe(4);
  // The other in-flight requests of the same burst report it again: no further halving.
  for (let i = 0; i < 5; i++) cap.record({ ok: false, latencyMs: 5, throttled: true });
  expect(cap.current()).toBe(4);
  advance(1000);
  cap.record({ ok: false, latencyMs: 5, timedOut: true });
  expect(cap.current()).toBe(2);
  for (let i = 0; i < 3; i++) {
    advance(1000);
    cap.record({ ok: false, latencyMs: 5, throttled: true });
  }
  expect(cap.current()).toBe(1);
  expect(changes.map(([, reason]) => reason)).toEqual(['throttled', 'timeout', 'throttled']);
  clean(1);
  expect(cap.current()).toBe(2);
});

test('rising latency halves the cap; latency between flat and rising only holds it', () => {
  const { cap, clean } = setup(10, 20);
  clean(1, 100); // the baseline window
  expect(cap.current()).toBe(11);
  clean(1, 130); // 1.3x: not flat, not rising
  expect(cap.current()).toBe(11);
  clean(1, 200); // 2x: rising
  expect(cap.current()).toBe(5);
  // The new baseline is measured at the new cap, so a server that simply got slower can recover.
  clean(1, 200);
  clean(1, 200);
  expect(cap.current()).toBe(7);
});

test('a window whose failures rise above the baseline does not raise the cap', () => {
  const { cap, clean } = setup(3, 10);
  clean(1);
  expect(cap.current()).toBe(4);
  for (let i = 0; i < 10; i++) cap.record({ ok: i >= 3, latencyMs: 100 });
  expect(cap.current()).toBe(4);
});

test('start above max, or a cap below 1, is refused naming the option', () => {
  expect(() => createAdaptiveCap({ start: 5, max: 2 })).toThrow(
    'Expected `maxParallelism.start` to be <= maxParallelism.max (2), got `5` (number)',
  );
  expect(() => createAdaptiveCap({ start: 0, max: 2 })).toThrow('`maxParallelism.start`');
});
