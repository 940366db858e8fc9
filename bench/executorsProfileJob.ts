// The executor benchmark's job, reporting when each task ran and where: bench/executorsProfile.ts
// turns that into each worker's idle time between tasks.
import { threadId } from 'node:worker_threads';
import { defineJob, tableRanges } from 'sluice';
import { hashRow } from './executorsJob.ts';

interface Span {
  worker: string;
  startMs: number;
  endMs: number;
}

const nowMs = () => performance.timeOrigin + performance.now();

export default defineJob({
  name: 'bench-executors-profile',
  source: tableRanges({
    table: 'bench_hash',
    key: 'id',
    rowsPerRange: Number(process.env.BENCH_PER_RANGE ?? 1000),
  }),
  maxParallelism: 8,
  async run(range, { sql }) {
    const startMs = nowMs();
    const rows = await sql<{ id: number }[]>`
      select id from bench_hash where id between ${range.start} and ${range.end}`;
    let xor = 0;
    for (const { id } of rows) xor ^= hashRow(id);
    const span: Span = { worker: `${process.pid}/${threadId}`, startMs, endMs: nowMs() };
    return { xor, spans: [span] };
  },
  initial: () => ({ xor: 0, spans: [] as Span[] }),
  reduce: (acc, report) => ({ xor: acc.xor ^ report.xor, spans: acc.spans.concat(report.spans) }),
});
