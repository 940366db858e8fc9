import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { finished, spawnSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-events-'));
});

/** Runs the example while sampling pg_stat_activity for the job's worker connections. */
async function load(runName: string) {
  const child = spawnSluice(
    ['run', 'examples/load-events.ts', '--database-url', db.url, '--json'],
    {
      EVENTS_DIR: dir,
      CAP: '3',
    },
  );
  const done = finished(child);
  let peak = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      const [row] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and application_name like 'sluice:worker:load-events:%'`;
      peak = Math.max(peak, row?.n ?? 0);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const result = await done;
  running = false;
  await sampler;
  expect(result.code, `${runName}: ${result.stderr}`).toBe(0);
  return { peak, summary: JSON.parse(result.stdout.trim().split('\n').at(-1) as string) };
}

test('gzipped JSONL files load idempotently within the connection cap', async () => {
  const first = await load('first');
  expect(first.summary).toMatchObject({ status: 'done', total: 40, done: 40, failed: 0 });
  // 40 files of 5,000 events overlapping by 10: 199,610 distinct events.
  const [count] =
    await db.sql`select count(*)::int as n, count(distinct event_id)::int as ids from events`;
  expect(count).toEqual({ n: 199_610, ids: 199_610 });
  expect(first.peak).toBeGreaterThan(0);
  expect(first.peak).toBeLessThanOrEqual(3);

  const second = await load('second');
  expect(second.summary).toMatchObject({ status: 'done', alreadyFinished: true });
  const rerun = spawnSluice(
    ['run', 'examples/load-events.ts', '--database-url', db.url, '--rerun'],
    {
      EVENTS_DIR: dir,
      CAP: '3',
    },
  );
  expect((await finished(rerun)).code).toBe(0);
  const [again] = await db.sql`select count(*)::int as n from events`;
  expect(again?.n).toBe(199_610);
});
