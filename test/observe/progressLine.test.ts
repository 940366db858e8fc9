import { expect, test } from 'vitest';
import type { ProgressSnapshot } from '../../src/observe/events.ts';
import { Events } from '../../src/observe/events.ts';
import { liveCounts } from '../../src/observe/liveCounts.ts';
import { liveProgressLine, progressText } from '../../src/observe/progressLine.ts';

const snapshot: ProgressSnapshot = {
  totalTasks: 100,
  totalItems: 100_000,
  doneTasks: 12,
  doneItems: 11_000,
  failedTasks: 0,
  failedItems: 1_000,
  runningTasks: 20,
  itemsThisRun: 11_000,
  elapsedMs: 4000,
};
const line = (columns: number, cap?: number) =>
  liveProgressLine(snapshot, { unit: 'items', taskNoun: 'chunks', columns, cap });

test('the live line is never as wide as the terminal, at any width', () => {
  for (let columns = 1; columns <= 200; columns++) {
    expect(line(columns, 8).length, `${columns} columns`).toBeLessThan(Math.max(2, columns));
  }
});

test('the least important fields go first: cap, running, elapsed, tasks, bar, ETA, rate', () => {
  expect(line(200, 8)).toBe(
    `[███${'░'.repeat(21)}] 12/100 chunks · 12,000/100,000 items · 1,000 failed (8.3%) · 4s · 2,750 items/s · ETA 32s · 20 running · cap 8`,
  );
  // The bar shrinks to 10 cells before any field goes.
  expect(line(120, 8)).toBe(
    `[██${'░'.repeat(12)}] 12/100 chunks · 12,000/100,000 items · 1,000 failed (8.3%) · 4s · 2,750 items/s · ETA 32s · 20 running`,
  );
  expect(line(110, 8)).toBe(
    `[██${'░'.repeat(15)}] 12/100 chunks · 12,000/100,000 items · 1,000 failed (8.3%) · 4s · 2,750 items/s · ETA 32s`,
  );
  expect(line(80)).toBe('12,000/100,000 items · 1,000 failed (8.3%) · 2,750 items/s · ETA 32s');
  expect(line(60)).toBe('12,000/100,000 items · 1,000 failed (8.3%) · 2,750 items/s');
  // The failures keep their count and lose their rate before they would go.
  expect(line(40)).toBe('12,000/100,000 items · 1,000 failed');
  expect(line(22)).toBe('12,000/100,000 items');
  expect(line(12)).toBe('12,000/100,');
});

test('plain log lines keep every field', () => {
  expect(progressText(snapshot, 'items', 'chunks')).toBe(
    '12/100 chunks · 12,000/100,000 items · 1,000 failed (8.3%) · 4s · 2,750 items/s · ETA 32s · 20 running',
  );
});

test('running chunks add what they finished; the count holds until the store has them', () => {
  const events = new Events();
  const counts = liveCounts(events);
  const store = (done: number, failed: number) => ({
    ...snapshot,
    doneItems: done,
    failedItems: failed,
    itemsThisRun: done,
  });
  events.emit('task:items', { seq: 1, done: 40, failed: 2 });
  events.emit('task:items', { seq: 2, done: 10, failed: 0 });
  expect(counts.add(store(100, 5))).toMatchObject({
    doneItems: 150,
    failedItems: 7,
    itemsThisRun: 150,
  });
  // Chunk 1 is recorded, but this snapshot was read before: the count does not step back.
  events.emit('task:done', { seq: 1, items: 40, ms: 5, accepted: true });
  expect(counts.add(store(100, 5))).toMatchObject({ doneItems: 150, failedItems: 7 });
  expect(counts.add(store(140, 7))).toMatchObject({ doneItems: 150, failedItems: 7 });
  events.emit('task:items', { seq: 2, done: 20, failed: 0 });
  expect(counts.add(store(140, 7))).toMatchObject({ doneItems: 160, failedItems: 7 });
  // Chunk 2's attempt failed and goes back to the queue: its items no longer count.
  events.emit('task:retrying', { seq: 2, attempt: 1, error: new Error('lost'), delayMs: 10 });
  expect(counts.add(store(140, 7))).toMatchObject({ doneItems: 140, failedItems: 7 });
  counts.close();
});
