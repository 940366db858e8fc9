// A cursor job over 1M and 10M rows (issue 4 §6): peak RSS must stay flat as the table grows, and
// the planning and run rates are printed. Each run is a child process of its own
// (bench/cursorRun.ts), so its peak RSS is its own.
//
//   npm run bench:cursor                                   fresh embedded server, 1M and 10M rows
//   BENCH_CURSOR_ROWS=100000,1000000 npm run bench:cursor  a quick check
//   BENCH_DATABASE_URL=postgres://... npm run bench:cursor seeded tables stay there and are reused
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres, { type Sql } from 'postgres';
import { openBenchServer } from './server.ts';

interface Run {
  ms: number;
  planMs: number;
  rssBeforeMb: number;
  rssMb: number;
  rows: number;
  tasks: number;
}

const batchSize = Number(process.env.BENCH_CURSOR_BATCH ?? 10_000);
const repetitions = Number(process.env.BENCH_CURSOR_REPS ?? 2);
const rssTarget = 1.1;
const jobPrefix = 'bench-cursor-';
const exec = promisify(execFile);
const runFile = fileURLToPath(new URL('./cursorRun.ts', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);
const label = (n: number) => (n % 1e6 === 0 ? `${n / 1e6}M` : `${n / 1e3}k`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? NaN;
const rate = (rows: number, seconds: number) => Math.round(rows / seconds).toLocaleString('en-US');

function tableName(size: number): string {
  return `cursor_bench_${label(size).toLowerCase()}`;
}

/**
 * `rows` rows whose updated_at repeats in runs of 100, so most chunk boundaries fall inside a run
 * of equal timestamps; indexed on (updated_at, id) for the cursor.
 */
async function seed(sql: Sql, size: number): Promise<void> {
  const table = tableName(size);
  const [found] = await sql`select to_regclass(${table}) as t`;
  if (found?.t) return;
  const started = performance.now();
  await sql`create table ${sql(table)} (
    id bigint primary key, updated_at timestamptz not null, amount int not null)`;
  await sql`
    insert into ${sql(table)}
    select g, timestamptz '2026-01-01 00:00:00.000001+00' + make_interval(secs => (g / 100) * 0.001),
      (g * 7919) % 1000
    from generate_series(1, ${size}::bigint) g`;
  await sql`create index on ${sql(table)} (updated_at, id)`;
  await sql`vacuum analyze ${sql(table)}`;
  log(`${table} ready in ${((performance.now() - started) / 1000).toFixed(0)}s`);
}

/** Runs the job in a child process, checks what it did from the database, and deletes it. */
async function measure(sql: Sql, url: string, size: number, rep: number): Promise<Run> {
  const table = tableName(size);
  const name = `${jobPrefix}${label(size)}-${rep}`;
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', runFile, table, name], {
    env: { ...process.env, BENCH_URL: url },
    maxBuffer: 1 << 20,
  });
  const run = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Run;
  const [check] = await sql<{ sums: string; truth: string }[]>`
    select (select sum(total)::text from cursor_bench_sums where job = ${name}) as sums,
      (select sum(amount)::text from ${sql(table)}) as truth`;
  const chunks = Math.ceil(size / batchSize);
  if (run.rows !== size || run.tasks !== chunks || check?.sums !== check?.truth) {
    throw new Error(`${name}: ${JSON.stringify({ run, check })}, expected ${size} rows`);
  }
  await sql`delete from sluice.jobs where name = ${name}`;
  await sql`delete from cursor_bench_sums where job = ${name}`;
  return run;
}

async function main() {
  const sizes = (process.env.BENCH_CURSOR_ROWS ?? '1000000,10000000').split(',').map(Number);
  if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1000 || n % 1000 !== 0)) {
    throw new Error(`Expected BENCH_CURSOR_ROWS to be multiples of 1000, got \`${sizes}\``);
  }
  const server = await openBenchServer();
  // pg_ctl runs the embedded server in its own session: Ctrl-C must stop it, or it outlives us.
  process.once('SIGINT', () => void server.close().finally(() => process.exit(130)));
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    await sql`create table if not exists cursor_bench_sums (
      job text not null, seq int not null, total numeric not null, primary key (job, seq))`;
    for (const size of sizes) await seed(sql, size);
    // Flush the seeding's dirty pages now, so no checkpoint writes behind a measurement.
    await sql`checkpoint`.catch(() => log('checkpoint refused (not superuser); continuing'));
    const runs = new Map<number, Run[]>(sizes.map((size) => [size, []]));
    for (let rep = 0; rep < repetitions; rep++) {
      // Rotating the order puts each size first once.
      const order = [...sizes.slice(rep % sizes.length), ...sizes.slice(0, rep % sizes.length)];
      for (const size of order) {
        const run = await measure(sql, server.url, size, rep);
        runs.get(size)?.push(run);
        log(
          `  ${label(size)} #${rep + 1}: plan ${(run.planMs / 1000).toFixed(1)}s, ` +
            `run ${(run.ms / 1000).toFixed(1)}s, ${run.rssMb.toFixed(0)} MB`,
        );
      }
    }
    const rows = sizes.map((size) => {
      const rs = runs.get(size) ?? [];
      return {
        size,
        seconds: median(rs.map((r) => r.ms)) / 1000,
        planSeconds: median(rs.map((r) => r.planMs)) / 1000,
        before: Math.max(...rs.map((r) => r.rssBeforeMb)),
        peak: Math.max(...rs.map((r) => r.rssMb)),
      };
    });
    const lines = [
      `cursor({ key: ['updated_at', 'id'], batchSize: ${batchSize} }), maxParallelism 4, ${repetitions} runs per size`,
      '',
      '| rows | chunks | run s (median) | plan s (median) | planning rows/s | run rows/s | RSS before MB | peak RSS MB |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${label(r.size)} | ${Math.ceil(r.size / batchSize)} | ${r.seconds.toFixed(1)} | ${r.planSeconds.toFixed(2)} | ${rate(r.size, r.planSeconds)} | ${rate(r.size, r.seconds)} | ${r.before.toFixed(0)} | ${r.peak.toFixed(0)} |`,
      ),
      '',
    ];
    const small = rows[0] as (typeof rows)[number];
    for (const r of rows.slice(1)) {
      const ratio = r.peak / small.peak;
      lines.push(
        `peak RSS ${label(r.size)} / ${label(small.size)}: ${ratio.toFixed(2)} (target ≤ ${rssTarget}: ${ratio <= rssTarget ? 'met' : 'MISSED'})`,
      );
    }
    console.log(lines.join('\n'));
  } finally {
    await sql`delete from sluice.jobs where name like ${`${jobPrefix}%`}`.catch(() => {});
    await sql.end();
    await server.close();
  }
}

await main();
