import { describe, expect, test } from 'vitest';
import { SlidingWindow, worstWindow } from '../../examples/peers/window.ts';

/** Small seeded generator so every run checks the same cases. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The obvious O(n) definition the window must agree with. */
function usedByScan(events: { at: number; weight: number }[], now: number, windowMs: number) {
  return events.filter((event) => event.at > now - windowMs).reduce((sum, e) => sum + e.weight, 0);
}

describe('SlidingWindow', () => {
  test.each([1, 2, 3, 4, 5])('agrees with a full scan on random traffic (seed %i)', (seed) => {
    const next = random(seed);
    const windowMs = 50 + Math.floor(next() * 200);
    const limit = 5 + Math.floor(next() * 40);
    const window = new SlidingWindow(windowMs, limit);
    const accepted: { at: number; weight: number }[] = [];
    let now = 0;
    // Enough events to pass the compaction threshold several times.
    for (let step = 0; step < 6000; step += 1) {
      now += Math.floor(next() * 12);
      const weight = 1 + Math.floor(next() * (limit / 3));
      const fits = usedByScan(accepted, now, windowMs) + weight <= limit;
      const wait = window.tryTake(now, weight);
      expect(wait === 0).toBe(fits);
      if (fits) {
        accepted.push({ at: now, weight });
        continue;
      }
      // The wait is exact on an integer clock: enough, and not a millisecond more than needed.
      expect(usedByScan(accepted, now + wait, windowMs) + weight).toBeLessThanOrEqual(limit);
      expect(usedByScan(accepted, now + wait - 1, windowMs) + weight).toBeGreaterThan(limit);
    }
    // Both paths taken, and enough accepted events to compact the deque more than once.
    expect(accepted.length).toBeGreaterThan(2048);
    expect(accepted.length).toBeLessThan(5000);
    const times = accepted.map((event) => event.at);
    const weights = accepted.map((event) => event.weight);
    expect(window.worst).toBeLessThanOrEqual(limit);
    expect(window.worst).toBe(worstWindow(times, windowMs, weights));
    expect(window.used(now)).toBe(usedByScan(accepted, now, windowMs));
  });

  test('counts events less than windowMs apart as one window', () => {
    const window = new SlidingWindow(1000, 2);
    expect(window.tryTake(0)).toBe(0);
    expect(window.tryTake(999)).toBe(0);
    expect(window.tryTake(999.5)).toBe(0.5);
    expect(window.tryTake(1000)).toBe(0);
    expect(window.worst).toBe(2);
  });

  test('a weight over the limit can never fit', () => {
    const window = new SlidingWindow(1000, 10);
    expect(window.waitMs(0, 11)).toBe(Number.POSITIVE_INFINITY);
    expect(window.used(0)).toBe(0);
  });

  test('refuses time going backwards and bad settings', () => {
    const window = new SlidingWindow(1000, 10);
    window.record(5);
    expect(() => window.record(4)).toThrow(/backwards/);
    expect(() => new SlidingWindow(0, 10)).toThrow('Expected `windowMs` to be a number > 0');
    expect(() => new SlidingWindow(1000, 0)).toThrow('Expected `limit` to be > 0');
  });
});

describe('worstWindow', () => {
  test('matches a scan of every window ending at an event, in any input order', () => {
    const next = random(42);
    const times = Array.from({ length: 400 }, () => Math.floor(next() * 5000));
    const weights = times.map(() => 1 + Math.floor(next() * 5));
    let expected = 0;
    for (const end of times) {
      const inside = times.map((at, index) => (at > end - 300 && at <= end ? weights[index] : 0));
      expected = Math.max(
        expected,
        inside.reduce((sum: number, w) => sum + (w ?? 0), 0),
      );
    }
    expect(worstWindow(times, 300, weights)).toBe(expected);
    expect(worstWindow([], 300)).toBe(0);
    expect(worstWindow([0, 10, 20, 1000, 1010], 1000)).toBe(3);
  });
});
