// The scale bench's job: 2,000 ranges of one row each over table scale_items, at most 50 running
// across every process. Each execution sleeps 20 ms and records itself in scale_runs (range, OS
// pid, start and end on this machine's clock), so the bench can check that every range ran once
// and compute the peak overlap of executions.
import { defineJob, tableRanges } from 'sluice';

export const scaleJobName = 'scale';

export default defineJob({
  name: scaleJobName,
  source: tableRanges({ table: 'scale_items', key: 'id', rowsPerRange: 1 }),
  maxParallelism: Number(process.env.SCALE_CAP ?? 50),
  async run(range, { sql, index }) {
    const startedMs = Date.now();
    await new Promise((done) => setTimeout(done, Number(process.env.SCALE_SLEEP_MS ?? 20)));
    await sql`insert into scale_runs (seq, pid, started_ms, finished_ms)
      values (${index}, ${process.pid}, ${startedMs}, ${Date.now()})`;
    return { rows: range.rows };
  },
  initial: () => 0,
  reduce: (total, report) => total + report.rows,
});
