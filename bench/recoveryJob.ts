// The one-task job of the crash-recovery benchmark (bench/recovery.ts): the task records when and
// where it starts, then takes far longer than the benchmark waits, so only a crash ends it.
import { setTimeout as sleep } from 'node:timers/promises';
import { defineJob, tableRanges } from 'sluice';

export default defineJob({
  name: process.env.RECOVERY_JOB ?? 'recovery',
  source: tableRanges({ table: 'recovery_items', key: 'id', rowsPerRange: 1 }),
  maxParallelism: 1,
  async run(_range, { sql, signal }) {
    await sql`insert into recovery_starts (system, pid) values ('sluice', ${process.pid})`;
    await sleep(3_600_000, undefined, { signal });
    return {};
  },
});
