import { afterAll, beforeAll, expect, test } from 'vitest';
import { finished, spawnSluice } from '../support/cli.ts';
import { tracedDatabase } from '../support/traced.ts';

let db: Awaited<ReturnType<typeof tracedDatabase>>;
beforeAll(async () => {
  db = await tracedDatabase();
});
afterAll(() => db.close());

test('two processes on one job share the work and never exceed the cap together', async () => {
  // 60 ranges of 150 ms under a cap of 3 take ~3 s: long enough that the second process, however
  // slowly it starts on a loaded machine, joins before the first has claimed everything. Each
  // would take the whole cap alone: the second works only because claims share it out.
  const env = { JOB_NAME: 'capped', CAP: '3', ROWS: '600', ROWS_PER_RANGE: '10', SLEEP_MS: '150' };
  const args = ['run', 'test/fixtures/tracedJob.ts', '--database-url', db.url, '--json'];
  const first = spawnSluice(args, env);
  const second = spawnSluice(args, env);
  const done = Promise.all([finished(first), finished(second)]);

  // Sample the store while both run: the cap is observed from the database, not from a process.
  let peakRunning = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakRunning = Math.max(peakRunning, await db.runningTasks('capped'));
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const [a, b] = await done;
  sampling = false;
  await sampler;

  expect(a.code, a.stderr).toBe(0);
  expect(b.code, b.stderr).toBe(0);
  expect(JSON.parse(a.stdout).result).toEqual({ total: 180300, n: 600 });
  expect(JSON.parse(b.stdout).result).toEqual({ total: 180300, n: 600 });

  const attempts = await db.attempts();
  expect(attempts.size).toBe(60);
  expect([...attempts.values()].every((n) => n === 1)).toBe(true);
  const [byProcess] = await db.sql`select count(distinct pid)::int as n from trace`;
  expect(byProcess?.n).toBe(2);

  // Each worker keeps one connection for all its ranges: at most 3 per process, reused.
  const perProcess = await db.sql<{ backends: number; ranges: number }[]>`
    select count(distinct backend)::int as backends, count(*)::int as ranges from trace group by pid`;
  for (const { backends, ranges } of perProcess) {
    expect(backends).toBeLessThanOrEqual(3);
    expect(ranges).toBeGreaterThan(backends);
  }

  expect(peakRunning).toBeLessThanOrEqual(3);
  expect(await db.peakOverlap()).toBeLessThanOrEqual(3);
  // The cap was actually reached, so the bound above means something.
  expect(await db.peakOverlap()).toBe(3);
});
