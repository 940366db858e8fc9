// The CPU-bound job of the executor benchmark: each range of `bench_hash` is read on the worker's
// own connection and every id goes through BENCH_ROUNDS rounds of the work BENCH_WORK names
// (bench/executorsWork.mjs: sha256 by default, or pure JavaScript). The mode comes from the
// benchmark, which overrides `executor` on the loaded job.
import postgres from 'postgres';
import { defineJob, tableRanges } from 'sluice';
import { workFor } from './executorsWork.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 100);
const work = workFor(process.env.BENCH_WORK ?? 'sha256');

/** The work for one row; the benchmark's plain loop and raw threads run the same function. */
export function hashRow(id: number): number {
  return work(id, rounds);
}

/** The table both executor benches hash: ids 1..rows, analyzed for the planner. */
export async function createHashTable(url: string, rows: number): Promise<void> {
  const setup = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await setup`drop table if exists bench_hash`;
    await setup`create table bench_hash (id int primary key)`;
    await setup`insert into bench_hash select generate_series(1, ${rows}::int)`;
    await setup`vacuum analyze bench_hash`;
  } finally {
    await setup.end();
  }
}

export default defineJob({
  name: 'bench-executors',
  source: tableRanges({
    table: 'bench_hash',
    key: 'id',
    rowsPerRange: Number(process.env.BENCH_PER_RANGE ?? 1000),
  }),
  maxParallelism: 8,
  async run(range, { sql }) {
    const rows = await sql<{ id: number }[]>`
      select id from bench_hash where id between ${range.start} and ${range.end}`;
    let xor = 0;
    for (const { id } of rows) xor ^= hashRow(id);
    return { rows: rows.length, xor };
  },
  initial: () => ({ rows: 0, xor: 0 }),
  reduce: (acc, report) => ({ rows: acc.rows + report.rows, xor: acc.xor ^ report.xor }),
});
