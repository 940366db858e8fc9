import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });

test('word-count equals one GROUP BY over the whole table, with its words sorted', async () => {
  const run = await runSluice([
    'run',
    'examples/word-count.ts',
    '--database-url',
    db.url,
    '--json',
  ]);
  expect(run.code, run.stderr).toBe(0);
  const summary = JSON.parse(run.stdout);
  expect(summary).toMatchObject({ status: 'done', total: 50_000, done: 50_000, failed: 0 });
  expect(summary.tasks).toEqual({ total: 10, done: 10, failed: 0 });

  const truth = await db.sql<{ word: string; n: number }[]>`
    select word, count(*)::int as n from documents, string_to_table(body, ' ') as word
    group by word order by word collate "C"`;
  expect(truth).toHaveLength(30);
  expect(Object.entries(summary.result)).toEqual(truth.map(({ word, n }) => [word, n]));

  // The plain summary prints the same record, keys in the same order.
  const again = await runSluice(['run', 'examples/word-count.ts', '--database-url', db.url]);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain(JSON.stringify(summary.result, null, 2));
});
