// A finished job run again runs nothing and says so, with the summary of the run that finished
// it: its elapsed time and rate as the store recorded them, not those of the rerun's instant.
import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase();
const job = 'test/fixtures/tracedJob.ts';

test('a finished job run again shows the stored run’s elapsed time and rate', async () => {
  // 4 ranges of 10 rows, each 300 ms, at most 3 at once: the first run takes at least 600 ms.
  const env = { DATABASE_URL: db.url, JOB_NAME: 'again', ROWS: '40', SLEEP_MS: '300' };
  const first = await runSluice(['run', job, '--json'], env);
  expect(first.code, first.stderr).toBe(0);
  const [stored] = await db.sql<{ ms: number }[]>`
    select extract(epoch from finished_at - created_at)::float8 * 1000 as ms
    from sluice.jobs where name = 'again'`;
  const ms = stored?.ms ?? 0;
  expect(ms).toBeGreaterThanOrEqual(600);

  const again = await runSluice(['run', job, '--json'], env);
  expect(again.code, again.stderr).toBe(0);
  const summary = JSON.parse(again.stdout.trim().split('\n').at(-1) as string);
  expect(summary).toMatchObject({ status: 'done', alreadyFinished: true, done: 40, total: 40 });
  // The store keeps microseconds, a Date milliseconds.
  expect(Math.abs(summary.elapsedMs - ms)).toBeLessThan(1);
  expect(summary.itemsPerSec).toBe((40 * 1000) / summary.elapsedMs);
  // Nothing ran the second time.
  const [runs] = await db.sql<{ n: number }[]>`select count(*)::int as n from trace`;
  expect(runs?.n).toBe(4);

  const text = await runSluice(['run', job], env);
  expect(text.code, text.stderr).toBe(0);
  const lines = text.stdout.trim().split('\n');
  expect(lines[0]).toBe('Job again already finished (done); run with --rerun to run it again');
  expect(lines.at(-1)).toBe(
    `Batch complete: 40/40 items, 0 failed (0.0%), ${(summary.elapsedMs / 1000).toFixed(1)}s, ${Math.round(summary.itemsPerSec)} items/sec`,
  );
});
