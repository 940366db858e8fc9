import { expect, test } from 'vitest';
import { type JobLine, jobTable } from '../../src/observe/jobTable.ts';

const line = (job: string, over: Partial<JobLine> = {}): JobLine => ({
  job,
  status: 'running',
  itemsDone: 250_000,
  itemsTotal: 1_000_000,
  itemsFailed: 1_234,
  deadLetters: 12,
  rate: 5_000,
  runningTasks: 8,
  cap: 8,
  startedAt: new Date('2026-12-01T10:00:00Z'),
  elapsedS: 50,
  ...over,
});

const lines = [line('nightly-orders-backfill'), line('crm', { status: 'done', rate: undefined })];

test('a header, and every column when the width allows', () => {
  const [header, first, second] = jobTable(lines);
  expect(header).toMatch(
    /^JOB +STATUS +PROGRESS +FAILED +DEAD +RATE\/S +ETA +ELAPSED +RUNNING +STARTED$/,
  );
  // 748,766 items left at 5,000/s.
  expect(first).toMatch(
    /^nightly-orders-backfill +running +251,234\/1,000,000 25% +1,234 +12 +5,000 +2m30s +50s +8\/8 /,
  );
  expect(second).toMatch(/^crm +done .* - +- +50s /);
});

test.each([40, 60, 80, 120])(
  'never wider than %i columns, dropping the least important first',
  (width) => {
    const rows = jobTable(lines, width);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row.length).toBeLessThanOrEqual(width);
    // The job, its status and progress always stay.
    expect(rows[0]).toMatch(/^JOB +STATUS +PROGRESS/);
    if (width >= 80) expect(rows[0]).toMatch(/RATE\/S +ETA/);
    if (width < 80) expect(rows[0]).not.toMatch(/STARTED/);
  },
);
