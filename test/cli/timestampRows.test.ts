// What a timestamptz column of a cursor row is, in `each` and in what is stored: a JS Date to the
// millisecond; the chunks still page by the exact value (docs/sources.md, "Timestamps in rows").
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });

test('rows one microsecond apart: each row once, a Date in each, milliseconds stored, the exact value by a query', async () => {
  const out = join(tmpdir(), `timestamp-rows-${process.pid}.jsonl`);
  const run = await runSluice([
    'run',
    'test/fixtures/timestampRowsJob.ts',
    '--database-url',
    db.url,
    '--out',
    out,
  ]);
  expect(run.code, run.stderr).toBe(0);
  const lines = (await readFile(out, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .sort((a, b) => a.item.id - b.item.id);
  // Five rows in three chunks of the one millisecond: none lost or read twice.
  expect(lines.map((line) => line.item.id)).toEqual([0, 1, 2, 3, 4]);
  for (const [i, line] of lines.entries()) {
    expect(line.value.isDate).toBe(true);
    expect(line.item.at).toBe('2026-03-01T12:00:00.123Z');
    expect(line.value.exact).toBe(`2026-03-01T12:00:00.${123456 + i}Z`);
  }
  // The stored outcomes hold the item as `--out` does.
  const stored = await db.sql<
    { at: string }[]
  >`select distinct item->>'at' as at from sluice.outcomes`;
  expect(stored).toEqual([{ at: '2026-03-01T12:00:00.123Z' }]);
});
