// The throughput cost of `transactional: true`: the same job (read a range of rows, `upsert` them
// into a target) with and without it, side by side in one run, at two task sizes.
//
//   npm run bench:transactional     fresh embedded server, 200,000 rows (BENCH_ROWS, BENCH_REPS)
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:transactional
//
// Each variant runs BENCH_REPS (3) times per task size, in rotating order, on a truncated target
// and with a fresh job name; the table shows medians. State and target share one database (the
// only place `transactional` may write). Every run's target is checked against the source.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { defineJob, runJob, Store, tableRanges, upsert } from '../src/index.ts';
import { openBenchServer } from './server.ts';

const total = Number(process.env.BENCH_ROWS ?? 200_000);
const reps = Number(process.env.BENCH_REPS ?? 3);
const taskSizes = [100, 1000];
const cap = 4;
const log = (line: string) => process.stderr.write(`${line}\n`);

function benchJob(rowsPerRange: number, transactional: boolean) {
  return defineJob({
    name: `bench-tx-${randomBytes(4).toString('hex')}`,
    source: tableRanges({ table: 'bench_src', key: 'id', rowsPerRange }),
    maxParallelism: cap,
    transactional,
    async run(range, { sql }) {
      const rows = await sql<{ id: string; v: number; note: string }[]>`
        select id, v, note from bench_src where id between ${range.start} and ${range.end}`;
      const out = rows.map((r) => ({ id: r.id, v: r.v * 2, note: r.note }));
      return upsert(sql, 'bench_target', out, { key: ['id'], update: 'all' });
    },
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main() {
  const server = await openBenchServer();
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  const store = await Store.open(server.url);
  try {
    await sql`drop table if exists bench_src, bench_target`;
    await sql`create table bench_src (id bigint primary key, v int not null, note text not null)`;
    await sql`create table bench_target (id bigint primary key, v int not null, note text not null)`;
    await sql`insert into bench_src select g, g % 1000, 'row ' || g from generate_series(1, ${total}::int) g`;
    await sql`vacuum analyze bench_src`;
    log(`${total} rows, cap ${cap}, ${reps} reps per variant`);
    const results: { size: number; variant: string; secs: number }[] = [];
    for (const size of taskSizes) {
      for (let rep = 0; rep < reps; rep++) {
        const order = rep % 2 === 0 ? [false, true] : [true, false];
        for (const transactional of order) {
          await sql`truncate bench_target`;
          const started = performance.now();
          const summary = await runJob(benchJob(size, transactional), {
            sourceUrl: server.url,
            store,
          });
          const secs = (performance.now() - started) / 1000;
          if (summary.status !== 'done') throw new Error(`run ended ${summary.status}`);
          const [check] = await sql<{ wrong: number }[]>`
            select count(*)::int as wrong from bench_src s full join bench_target t on t.id = s.id
            where t.id is null or s.id is null or t.v <> s.v * 2`;
          if (check?.wrong !== 0) throw new Error(`${check?.wrong} rows wrong`);
          const variant = transactional ? 'transactional' : 'plain upsert';
          log(`  ${size} rows/task, ${variant}: ${secs.toFixed(2)} s`);
          results.push({ size, variant, secs });
        }
      }
    }
    console.log('| rows per task | variant | median s | rows/s | × plain |');
    console.log('|---:|---|---:|---:|---:|');
    for (const size of taskSizes) {
      const plain = median(
        results.filter((r) => r.size === size && r.variant === 'plain upsert').map((r) => r.secs),
      );
      for (const variant of ['plain upsert', 'transactional']) {
        const secs = median(
          results.filter((r) => r.size === size && r.variant === variant).map((r) => r.secs),
        );
        console.log(
          `| ${size} | ${variant} | ${secs.toFixed(2)} | ${Math.round(total / secs)} | ${(plain / secs).toFixed(2)} |`,
        );
      }
    }
  } finally {
    await store.close();
    await sql.end();
    await server.close();
  }
}

await main();
