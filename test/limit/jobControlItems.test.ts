import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { cancelJob, Store } from '../../src/index.ts';
import { finished, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

// Two real `sluice run` processes run an `each` job whose items record when they started. A
// cancel must reach both at once: no item starts in either process more than 100 ms after the
// status change commits (the moment cancelJob returns, which is after the commit).

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
      const [pid, startedMs] = line.split(' ').map(Number) as [number, number];
      return { pid, startedMs };
    });
}

for (const executor of ['async', 'thread:2']) {
  test(`sluice cancel (${executor}): no item starts in either process more than 100 ms after the change commits`, async () => {
    const name = `cancel-items-${executor.replace(':', '-')}`;
    const file = join(dir, `${name}.starts`);
    const env = {
      JOB_NAME: name,
      ITEMS: '4000',
      CHUNK: '50',
      CAP: '4',
      SLEEP_MS: '10',
      START_FILE: file,
    };
    const args = ['run', job, '--database-url', db.url, '--executor', executor];
    const runs = [0, 1].map(() => finished(spawnSluice(args, env)));
    // Both processes are starting items.
    await waitFor(async () => new Set((await starts(file)).map((row) => row.pid)).size === 2);

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
