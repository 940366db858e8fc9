// One timed run of one variant of the orders report, in a process of its own, so that the peak
// RSS it prints is this variant's alone. bench/orders.ts spawns it; by hand:
//   BENCH_URL=postgres://... node --import tsx bench/variant.ts sluice|blocks|blocks8|single|plimit orders_1m
// Prints one JSON line: { ms, planMs, rssMb, totals }.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import postgres, { type Sql } from 'postgres';
import { defineJob, Events, runJob, type Source, Store, tableBlocks, tableRanges } from 'sluice';

// The same shape as examples/orders-report.ts.
const rowsPerRange = 25_000;
// The demo orders hold about 133 rows a page (7,500 pages at 1M), so 188 pages make as many tasks
// as 25,000-row ranges: 40 at 1M, 399 at 10M.
const pagesPerTask = 188;
const parallelism = 20;
// Bench job names carry this prefix so bench/orders.ts can delete them afterwards.
export const jobPrefix = 'sluice-bench-orders-';

interface StatusRow {
  status: string;
  orders: number;
  amount: string;
}

/** Per-status totals; cents as decimal strings, so that runs compare exactly as JSON. */
export type Totals = Record<string, { orders: number; cents: string }>;

interface Timed {
  ms: number;
  /** Of `ms`, the time until the ranges were planned: the part that grows with a full index scan. */
  planMs: number;
  totals: Totals;
}

/** The per-range aggregate of examples/orders-report.ts, shared by sluice and the peer. */
function rangeReport(sql: Sql, table: string, start: string, end: string) {
  return sql<StatusRow[]>`
    select status, count(*)::int as orders, sum(amount)::text as amount
    from ${sql(table)} where id between ${start} and ${end}
    group by status order by status`;
}

function addRows(totals: Totals, rows: readonly StatusRow[]): Totals {
  for (const { status, orders, amount } of rows) {
    // sum() over numeric(12,2) always prints two decimals, so dropping the point gives cents.
    if (!/^-?\d+\.\d\d$/.test(amount)) throw new Error(`Unexpected amount ${amount}`);
    const before = totals[status] ?? { orders: 0, cents: '0' };
    const cents = BigInt(before.cents) + BigInt(amount.replace('.', ''));
    totals[status] = { orders: before.orders + orders, cents: cents.toString() };
  }
  return totals;
}

/** (a) The orders report as a sluice job over key ranges. */
function sluice(url: string, table: string): Promise<Timed> {
  return timedJob(url, table, tableRanges({ table, key: 'id', rowsPerRange }), (range, sql) =>
    rangeReport(sql, table, range.start, range.end),
  );
}

/** (a') The same report as a sluice job over page ranges (a Tid Range Scan each), no index needed. */
function blocks(url: string, table: string): Promise<Timed> {
  return blocksJob(url, table, `blocks-${table}`, pagesPerTask, parallelism);
}

/**
 * (a'') The same over 8 page ranges at a cap of 4, as the probe that set the target did: on 2
 * cores, 20 connections each scanning 1/40 of the table cost more in start-up than they gain.
 */
async function blocks8(url: string, table: string): Promise<Timed> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const [row] = await sql<{ pages: number }[]>`
    select relpages::int as pages from pg_class where oid = ${table}::regclass`;
  await sql.end();
  const pages = Math.max(1, Math.ceil((row?.pages ?? 0) / 8));
  return blocksJob(url, table, `blocks8-${table}`, pages, 4);
}

function blocksJob(url: string, table: string, name: string, pages: number, cap: number) {
  return timedJob(
    url,
    name,
    tableBlocks({ table, pagesPerTask: pages }),
    (block, sql) =>
      sql<StatusRow[]>`
      select status, count(*)::int as orders, sum(amount)::text as amount
      from ${sql(table)} where ${block.where(sql)}
      group by status order by status`,
    cap,
  );
}

/** Runs the report as a sluice job on `source`; timed from planning to the reduced result. */
async function timedJob<Input>(
  url: string,
  name: string,
  source: Source<Input>,
  report: (input: Input, sql: Sql) => Promise<StatusRow[]>,
  cap = parallelism,
): Promise<Timed> {
  // Opening the store (and migrating it) is setup, not the run.
  const store = await Store.open(url);
  try {
    const job = defineJob({
      // A fresh name plans afresh every repetition, as a first run does.
      name: `${jobPrefix}${name}-${randomUUID()}`,
      source,
      maxParallelism: cap,
      retry: { attempts: 3 },
      run: (input, { sql }) => report(input, sql),
      initial: (): Totals => ({}),
      reduce: addRows,
    });
    const events = new Events();
    let planMs = 0;
    const started = performance.now();
    events.on('job:planned', () => {
      planMs = performance.now() - started;
    });
    const summary = await runJob(job, { sourceUrl: url, store, events });
    const ms = performance.now() - started;
    if (summary.status !== 'done') {
      throw new Error(`sluice run ended ${summary.status}, ${summary.tasks.failed} tasks failed`);
    }
    return { ms, planMs, totals: summary.result as Totals };
  } finally {
    await store.close();
  }
}

/** (b) PostgreSQL's own single query over the whole table: the physical limit. */
async function single(url: string, table: string): Promise<Timed> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const started = performance.now();
    const rows = await sql<StatusRow[]>`
      select status, count(*)::int as orders, sum(amount)::text as amount
      from ${sql(table)} group by status`;
    return { ms: performance.now() - started, planMs: 0, totals: addRows({}, rows) };
  } finally {
    await sql.end();
  }
}

/** (c) What a user writes today: plan the same ranges, then p-limit over a pool of 20. */
async function plimit(url: string, table: string): Promise<Timed> {
  const sql = postgres(url, { max: parallelism, onnotice: () => {} });
  try {
    const started = performance.now();
    // A keyset walk, as a person writes it: hop 25,000 keys at a time down the index.
    // (The key is selected under another name: `order by id` must not sort the text copy.)
    const starts: { id: string }[] = [];
    let [next] = await sql<{ id: string }[]>`
      select id::text as id from ${sql(table)} t order by t.id limit 1`;
    while (next) {
      starts.push(next);
      [next] = await sql<{ id: string }[]>`
        select t.id::text as id from ${sql(table)} t where t.id > ${next.id}::bigint order by t.id
        offset ${rowsPerRange - 1} limit 1`;
    }
    const planMs = performance.now() - started;
    const limit = pLimit(parallelism);
    const reports = await Promise.all(
      starts.map(({ id }, i) => {
        const next = starts[i + 1];
        const end = next ? (BigInt(next.id) - 1n).toString() : '9223372036854775807';
        return limit(() => rangeReport(sql, table, id, end));
      }),
    );
    const totals = reports.reduce(addRows, {});
    return { ms: performance.now() - started, planMs, totals };
  } finally {
    await sql.end();
  }
}

const variants = { sluice, blocks, blocks8, single, plimit };

async function main() {
  const [name, table] = process.argv.slice(2);
  const url = process.env.BENCH_URL;
  if (!url || !table || !(name && name in variants)) {
    throw new Error('Usage: BENCH_URL=... variant.ts sluice|blocks|blocks8|single|plimit <table>');
  }
  const { ms, planMs, totals } = await variants[name as keyof typeof variants](url, table);
  // jsonb reorders object keys, so both levels are rebuilt in one order to compare as text.
  const sorted = Object.fromEntries(
    Object.entries(totals)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, { orders, cents }]) => [status, { orders, cents }]),
  );
  // maxRSS is in KiB; read at the very end, so it is the whole run's peak.
  const rssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ ms, planMs, rssMb, totals: sorted }));
}

// bench/orders.ts imports the job prefix from here; only a direct run measures.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
