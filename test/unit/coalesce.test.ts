import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { coalesce } from '../../src/run/coalesce.ts';

/** Work that takes 20 ms and counts how often it ran and how many runs overlapped. */
function countedWork() {
  const seen = { runs: 0, active: 0, peak: 0 };
  const work = async () => {
    seen.runs += 1;
    seen.active += 1;
    seen.peak = Math.max(seen.peak, seen.active);
    await sleep(20);
    seen.active -= 1;
  };
  return { seen, work };
}

test('a burst of requests during a run costs exactly one more run, never two at once', async () => {
  const { seen, work } = countedWork();
  const runs = coalesce(work);
  const first = runs.run();
  await sleep(5);
  const during = Array.from({ length: 10 }, () => runs.run());
  await Promise.all([first, ...during]);
  expect(seen).toMatchObject({ runs: 2, peak: 1 });
  // Each request resolved only after a run that began after it.
  await runs.run();
  expect(seen.runs).toBe(3);
});

test('requests after the run ends start a new one; settled waits for the run in progress', async () => {
  const { seen, work } = countedWork();
  const runs = coalesce(work);
  void runs.run();
  await runs.settled();
  expect(seen.runs).toBe(1);
  await runs.run();
  expect(seen.runs).toBe(2);
});

test('once stopped, nothing more runs, not even the rerun a request asked for', async () => {
  const { seen, work } = countedWork();
  let stopped = false;
  const runs = coalesce(work, { stopped: () => stopped, gapMs: 10 });
  const first = runs.run();
  await sleep(5);
  void runs.run();
  stopped = true;
  await first;
  await runs.run();
  expect(seen.runs).toBe(1);
});

test('gapMs spaces a rerun from the run before it', async () => {
  const starts: number[] = [];
  const runs = coalesce(
    async () => {
      starts.push(performance.now());
      await sleep(5);
    },
    { gapMs: 60 },
  );
  const first = runs.run();
  void runs.run();
  await first;
  expect(starts).toHaveLength(2);
  expect((starts[1] as number) - (starts[0] as number)).toBeGreaterThanOrEqual(60);
});
