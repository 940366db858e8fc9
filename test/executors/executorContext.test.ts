import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });

beforeAll(async () => {
  await db.sql`create table items (id bigint primary key)`;
  await db.sql`insert into items select g * 3 from generate_series(1, 200) g`;
  await db.sql`create table visits (id bigint not null, attempt int not null)`;
});

for (const executor of ['thread:2', 'process:2']) {
  test(`${executor}: ctx.checkpoint from a worker is stored, and the retry resumes after it`, async () => {
    await db.sql`truncate visits`;
    const run = await runSluice(
      [
        'run',
        'test/fixtures/checkpointJob.ts',
        '--database-url',
        db.url,
        '--json',
        '--rerun',
        '--executor',
        executor,
      ],
      { CRASH_AFTER_STEPS: '2' },
    );
    expect(run.code, run.stderr).toBe(0);
    const [visits] =
      await db.sql`select count(*)::int as n, count(distinct id)::int as ids from visits`;
    expect(visits).toEqual({ n: 200, ids: 200 });
    const byAttempt =
      await db.sql`select attempt, count(*)::int as n from visits group by attempt order by attempt`;
    expect(byAttempt).toEqual([
      { attempt: 1, n: 80 },
      { attempt: 2, n: 120 },
    ]);
  });
}

test('each in threads: permits from the global rate limit, a 429 pause, logs, and PermanentError', async () => {
  const out = join(tmpdir(), `executor-items-${process.pid}.jsonl`);
  const run = await runSluice(
    [
      'run',
      'test/fixtures/executorItemsJob.ts',
      '--database-url',
      db.url,
      '--out',
      out,
      '--rate-limit',
      '20/s',
    ],
    { JOB_NAME: 'items-in-threads' },
  );
  expect(run.code, run.stderr).toBe(3);
  expect(run.stdout).toContain('Batch complete: 29/30 items, 1 failed');
  // Log lines from the workers reach the coordinator's output.
  expect(run.stderr).toMatch(/item 10 in thread [1-9]/);
  const lines = (await readFile(out, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines).toHaveLength(30);
  const poisoned = lines.find((l) => l.item === 13);
  expect(poisoned).toMatchObject({ ok: false, error: 'item 13 is poisoned', attempts: 1 });
  const seven = lines.find((l) => l.item === 7);
  expect(seven).toMatchObject({ ok: true, value: { double: 14 } });
  const threads = new Set(lines.filter((l) => l.ok).map((l) => l.value.thread));
  expect(threads.has(0)).toBe(false);
  // Permits come from the coordinator's limiter: no second holds more than 20 items.
  const at = lines
    .filter((l) => l.ok)
    .map((l) => l.value.at as number)
    .sort((a, b) => a - b);
  for (let i = 0; i + 20 < at.length; i++)
    expect((at[i + 20] as number) - (at[i] as number)).toBeGreaterThanOrEqual(1000);
});
