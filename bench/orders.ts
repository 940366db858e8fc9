// The orders report five ways, side by side on one PostgreSQL server in one run:
// (a) sluice over key ranges, (a') sluice over page ranges (tableBlocks; (a'') with 8 of them at
// a cap of 4), (b) PostgreSQL's own single query (the physical limit), (c) a hand-written p-limit
// loop (the peer). Absolute times on shared machines are noise; the ratios are the result.
//
//   npm run bench                                   fresh embedded server, 1M and 10M rows
//   BENCH_SIZES=1000000 npm run bench               a quick check
//   BENCH_DATABASE_URL=postgres://... npm run bench seeded tables stay there and are reused
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { createDemoOrders } from '../examples/demo/orders.ts';
import { openBenchServer } from './server.ts';
import { jobPrefix, type Totals } from './variant.ts';

const variants = ['sluice', 'blocks', 'blocks8', 'single', 'plimit'] as const;
type Variant = (typeof variants)[number];
const labels: Record<Variant, string> = {
  sluice: '(a) sluice',
  blocks: "(a') sluice, tableBlocks",
  blocks8: "(a'') tableBlocks, 8 tasks at cap 4",
  single: '(b) single query',
  plimit: '(c) p-limit',
};
const repetitions = 3;
const targets = { vsSingle: 1.3, vsPeer: 1.05, blocksVsSingle: 1.1, rssGrowth: 1.1 };

interface Run {
  ms: number;
  planMs: number;
  rssMb: number;
  totals: Totals;
}

interface Row {
  size: number;
  variant: Variant;
  seconds: number;
  planSeconds: number;
  rssMb: number;
}

const exec = promisify(execFile);
const variantFile = fileURLToPath(new URL('./variant.ts', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);

function benchSizes(): number[] {
  const sizes = (process.env.BENCH_SIZES ?? '1000000,10000000').split(',').map(Number);
  if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1)) {
    throw new Error(`Expected BENCH_SIZES to be whole numbers, got \`${process.env.BENCH_SIZES}\``);
  }
  return sizes;
}

/** `1m`, `10m`, `250k`: the table is orders_<label>. */
function label(size: number): string {
  if (size % 1_000_000 === 0) return `${size / 1_000_000}m`;
  return size % 1000 === 0 ? `${size / 1000}k` : String(size);
}

/** Runs one variant in a child process and returns what it printed. */
async function measure(variant: Variant, table: string, url: string): Promise<Run> {
  const { stdout } = await exec(
    process.execPath,
    ['--import', 'tsx', variantFile, variant, table],
    {
      env: { ...process.env, BENCH_URL: url },
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Run;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? NaN;

/** Measures every variant `repetitions` times on one table, checking that all agree. */
async function benchTable(url: string, size: number): Promise<Row[]> {
  const table = `orders_${label(size)}`;
  let reference: string | undefined;
  const checked = (variant: Variant, run: Run): Run => {
    const totals = JSON.stringify(run.totals);
    reference ??= totals;
    if (totals !== reference) {
      throw new Error(
        `${labels[variant]} disagrees on ${table}:\n  ${totals}\n  expected ${reference}`,
      );
    }
    const orders = Object.values(run.totals).reduce((sum, t) => sum + t.orders, 0);
    if (orders !== size) throw new Error(`${table} holds ${orders} orders, expected ${size}`);
    return run;
  };
  // Untimed warm-up: reads the index and the heap once, so no variant pays for a cold cache.
  checked('plimit', await measure('plimit', table, url));
  const runs: Record<Variant, Run[]> = {
    sluice: [],
    blocks: [],
    blocks8: [],
    single: [],
    plimit: [],
  };
  for (let rep = 0; rep < repetitions; rep++) {
    // Rotating the order moves each variant through the positions, so none is always first.
    const shift = rep % variants.length;
    const order = [...variants.slice(shift), ...variants.slice(0, shift)];
    for (const variant of order) {
      const run = checked(variant, await measure(variant, table, url));
      runs[variant].push(run);
      log(`  ${table} #${rep + 1} ${labels[variant]}: ${(run.ms / 1000).toFixed(2)}s`);
    }
  }
  return variants.map((variant) => ({
    size,
    variant,
    seconds: median(runs[variant].map((run) => run.ms)) / 1000,
    planSeconds: median(runs[variant].map((run) => run.planMs)) / 1000,
    rssMb: Math.max(...runs[variant].map((run) => run.rssMb)),
  }));
}

function report(rows: Row[]): string {
  const find = (size: number, variant: Variant) =>
    rows.find((row) => row.size === size && row.variant === variant) as Row;
  const lines = [
    '| size | variant | median s | of which planning s | × (b) | × (c) | peak RSS MB |',
    '|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const vs = (variant: Variant) => (row.seconds / find(row.size, variant).seconds).toFixed(2);
    lines.push(
      `| ${label(row.size)} | ${labels[row.variant]} | ${row.seconds.toFixed(2)} | ${row.planSeconds.toFixed(2)} | ${vs('single')} | ${vs('plimit')} | ${row.rssMb.toFixed(0)} |`,
    );
  }
  const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const sizes = [...new Set(rows.map((row) => row.size))];
  lines.push('');
  for (const size of sizes) {
    const a = find(size, 'sluice').seconds;
    const b = a / find(size, 'single').seconds;
    const c = a / find(size, 'plimit').seconds;
    const blocks = find(size, 'blocks').seconds / find(size, 'single').seconds;
    const blocks8 = find(size, 'blocks8').seconds / find(size, 'single').seconds;
    lines.push(
      `${label(size)}: sluice/(b) ${b.toFixed(2)} (target ≤ ${targets.vsSingle}: ${mark(b <= targets.vsSingle)}), ` +
        `sluice/(c) ${c.toFixed(2)} (target ≤ ${targets.vsPeer}: ${mark(c <= targets.vsPeer)}), ` +
        `tableBlocks/(b) ${blocks.toFixed(2)} (target ≤ ${targets.blocksVsSingle}: ${mark(blocks <= targets.blocksVsSingle)}), ` +
        `8 blocks at cap 4/(b) ${blocks8.toFixed(2)} (${mark(blocks8 <= targets.blocksVsSingle)})`,
    );
  }
  if (sizes.length > 1) {
    const small = Math.min(...sizes);
    const large = Math.max(...sizes);
    const growth = find(large, 'sluice').rssMb / find(small, 'sluice').rssMb;
    lines.push(
      `peak RSS sluice@${label(large)} / sluice@${label(small)}: ${growth.toFixed(2)} ` +
        `(target ≤ ${targets.rssGrowth}: ${mark(growth <= targets.rssGrowth)})`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const sizes = benchSizes();
  const server = await openBenchServer();
  // pg_ctl runs the embedded server in its own session: Ctrl-C must stop it, or it outlives us.
  process.once('SIGINT', () => void server.close().finally(() => process.exit(130)));
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    for (const size of sizes) {
      const started = performance.now();
      await createDemoOrders(sql, size, `orders_${label(size)}`);
      log(`orders_${label(size)} ready in ${((performance.now() - started) / 1000).toFixed(0)}s`);
    }
    // Flush the seeding's dirty pages now, so no checkpoint writes behind a measurement.
    await sql`checkpoint`.catch(() => log('checkpoint refused (not superuser); continuing'));
    const rows: Row[] = [];
    for (const size of sizes) rows.push(...(await benchTable(server.url, size)));
    console.log(report(rows));
  } finally {
    // The bench's jobs would otherwise pile up in a BENCH_DATABASE_URL database.
    await sql`delete from sluice.jobs where name like ${`${jobPrefix}%`}`.catch(() => {});
    await sql.end();
    await server.close();
  }
}

await main();
