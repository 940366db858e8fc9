import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { cancelJob, pauseJob, resumeJob, Store } from '../../src/index.ts';
import { finished, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

// Two real `sluice run` processes run an `each` job whose items record when they started. A
// cancel or a pause must reach both at once: no item starts in either process more than 100 ms
// after the status change commits (the moment cancelJob or pauseJob returns, after the commit).

const db = useTestDatabase({ max: 2 });
const job = 'test/limit/fixtures/itemStartsJob.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-item-starts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The items' starts so far: which process, and when. */
async function starts(file: string) {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pid, startedMs, item] = line.split(' ').map(Number) as [number, number, number];
      return { pid, startedMs, item };
    });
}

/**
 * Starts two `sluice run` processes of the item-starts job and waits until both start items.
 * Returns what the test needs: their results, the starts file and the arguments to run again.
 */
async function twoRunning(kind: string, executor: string, items: number, chunk: number) {
  const name = `${kind}-items-${executor.replace(':', '-')}`;
  const file = join(dir, `${name}.starts`);
  const env = {
    JOB_NAME: name,
    ITEMS: String(items),
    CHUNK: String(chunk),
    CAP: '4',
    SLEEP_MS: '10',
    START_FILE: file,
  };
  const args = ['run', job, '--database-url', db.url, '--executor', executor];
  const runs = [0, 1].map(() => finished(spawnSluice(args, env)));
  await waitFor(async () => new Set((await starts(file)).map((row) => row.pid)).size === 2);
  return { name, file, env, args, runs };
}

for (const executor of ['async', 'thread:2']) {
  test(`sluice cancel (${executor}): no item starts in either process more than 100 ms after the change commits`, async () => {
    const { name, file, runs } = await twoRunning('cancel', executor, 4000, 50);

    const store = await Store.open(db.url);
    let committedBy: number;
    try {
      const before = Date.now();
      expect(await cancelJob(store, name)).toMatchObject({ status: 'cancelled', changed: true });
      committedBy = Date.now();
      console.log(`cancelJob took ${committedBy - before} ms`);
    } finally {
      await store.close();
    }
    for (const result of await Promise.all(runs)) expect(result.code, result.stderr).toBe(5);

    const all = await starts(file);
    const last = Math.max(...all.map((row) => row.startedMs));
    console.log(`last item started ${(last - committedBy).toFixed(1)} ms after cancelJob returned`);
    expect(all.filter((row) => row.startedMs > committedBy + 100)).toEqual([]);
    expect(all.length).toBeLessThan(4000);
  });
}

for (const executor of ['async', 'process:2']) {
  test(`sluice pause (${executor}): no item starts more than 100 ms after it commits, and resume redoes none`, async () => {
    const { name, file, env, args, runs } = await twoRunning('pause', executor, 2000, 100);

    const store = await Store.open(db.url);
    let committedBy: number;
    try {
      expect(await pauseJob(store, name)).toMatchObject({ status: 'paused', changed: true });
      committedBy = Date.now();
      // Paused mid-chunk: the chunks go back to the queue with what they finished.
      for (const result of await Promise.all(runs)) expect(result.code, result.stderr).toBe(6);
      const paused = await starts(file);
      const last = Math.max(...paused.map((row) => row.startedMs));
      console.log(
        `last item started ${(last - committedBy).toFixed(1)} ms after pauseJob returned`,
      );
      expect(paused.filter((row) => row.startedMs > committedBy + 100)).toEqual([]);
      expect(paused.length).toBeLessThan(2000);

      await resumeJob(store, name);
    } finally {
      await store.close();
    }
    const rest = await finished(spawnSluice(args, env));
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout).toContain('Batch complete: 2000/2000 items, 0 failed (0.0%)');
    // Every item ran, and only an item in flight at the pause (at most one per running chunk,
    // four per process) could run twice; finished items of a paused chunk are not redone.
    const all = await starts(file);
    const runsOf = new Map<number, number>();
    for (const row of all) runsOf.set(row.item, (runsOf.get(row.item) ?? 0) + 1);
    expect(runsOf.size).toBe(2000);
    expect([...runsOf.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(8);
  });
}
