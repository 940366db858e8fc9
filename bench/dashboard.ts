// Every read the dashboard makes, timed at the server on a job of 1,000,000 tasks (issue: each
// must answer in <= 100 ms). The job is written with generate_series (bench/dashboard/fixture.ts),
// vacuumed and analyzed as autovacuum would leave it; four live processes hold its running tasks.
// Each read runs BENCH_REPS times (20) on a pool that records the statements it sends; every
// statement is then run again under EXPLAIN (ANALYZE, TIMING OFF: per-node clocks would inflate
// reads of many rows) and its Execution Time summed per read
// (pg_stat_statements is not loaded on either server). The client's wall time is printed beside.
//
//   npm run bench:dashboard                                     a fresh embedded server
//   npm run bench:dashboard -- --database-url postgres://postgres@127.0.0.1:5432/test
//   DATABASE_URL=postgres://... npm run bench:dashboard
//
// Either way it works in a database of its own (sluice_bench_dashboard), dropped at the end.
// BENCH_TASKS (1000000), BENCH_OUTCOME_TASKS (200000: x10 outcomes), BENCH_REPS (20).
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Sql } from 'postgres';
import { type DashboardQueries, dashboardQueries } from '../src/store/dashboard/index.ts';
import { Store } from '../src/store/index.ts';
import { type Liveness, registerProcess } from '../src/store/liveness.ts';
import { createFixture, type Fixture } from './dashboard/fixture.ts';
import { connect, createScratchDatabase, dropScratchDatabase } from './dashboard/scratch.ts';
import { measureWriteCost } from './dashboard/writeCost.ts';
import { openBenchServer } from './server.ts';

const budgetMs = 100;
const reps = Number(process.env.BENCH_REPS ?? 20);
const size = {
  tasks: Number(process.env.BENCH_TASKS ?? 1_000_000),
  outcomeTasks: Number(process.env.BENCH_OUTCOME_TASKS ?? 200_000),
};
const log = (line: string) => process.stderr.write(`${line}\n`);

type Read = [name: string, run: (q: DashboardQueries) => Promise<unknown>];

function reads(f: Fixture, middle: { finishedAt: string; seq: number }): Read[] {
  const job = f.jobId;
  return [
    ['jobs list', (q) => q.jobs()],
    ['throughput series', (q) => q.throughput(job)],
    ['tasks by state', (q) => q.tasksByState(job)],
    ['running tasks', (q) => q.runningTasks(job)],
    ['failed tasks, first page', (q) => q.failedTasks(job)],
    ['failed tasks, a middle page', (q) => q.failedTasks(job, { after: middle })],
    ['dead letters, first page', (q) => q.deadLetters(job)],
    ['dead letters, after a key', (q) => q.deadLetters(job, { after: 'item-150000' })],
    ['dead letter payload', (q) => q.deadLetterPayload(job, 'item-1007')],
    ['failure groups', (q) => q.failureGroups(job)],
    ['search: key prefix', (q) => q.search(job, { key: 'item-12345' })],
    ['search: exact key', (q) => q.search(job, { key: 'item-1007', exact: true })],
    ['search: rare words', (q) => q.search(job, { text: 'shard 7 timeout' })],
    ['search: common word', (q) => q.search(job, { text: 'constraint' })],
    ['search: no match', (q) => q.search(job, { text: 'nosuchword' })],
    ['processes of the job', (q) => q.processes(job)],
    ['processes per job (metric)', (q) => q.processCounts([job])],
  ];
}

interface Timing {
  serverMs: number;
  wallMs: number;
  statements: number;
}

const executionTime = async (sql: Sql, query: string, params: unknown[]) => {
  const rows = await sql.unsafe<{ 'QUERY PLAN': [{ 'Execution Time': number }] }[]>(
    `explain (analyze, timing off, format json) ${query}`,
    params as never[],
  );
  const time = rows[0]?.['QUERY PLAN'][0]['Execution Time'];
  if (time === undefined) throw new Error(`no Execution Time in the plan of: ${query}`);
  return time;
};

async function timeRead(url: string, admin: Sql, read: Read): Promise<Timing[]> {
  const sent: { query: string; params: unknown[] }[] = [];
  const traced = connect(url, {
    debug: (_c: number, query: string, params: unknown[]) =>
      sent.push({ query, params: [...params] }),
  });
  const q = dashboardQueries(traced);
  const timings: Timing[] = [];
  try {
    await read[1](q); // warm: the connection, its type lookup, the statements' plans
    for (let i = 0; i < reps; i++) {
      sent.length = 0;
      const start = performance.now();
      await read[1](q);
      const wallMs = performance.now() - start;
      const own = sent.filter((s) => s.query.includes('sluice.'));
      let serverMs = 0;
      for (const s of own) serverMs += await executionTime(admin, s.query, s.params);
      timings.push({ serverMs, wallMs, statements: own.length });
    }
  } finally {
    await traced.end({ timeout: 5 });
  }
  return timings;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
};

async function main() {
  const { values } = parseArgs({ options: { 'database-url': { type: 'string' } } });
  const given =
    values['database-url'] ?? process.env.DATABASE_URL ?? process.env.BENCH_DATABASE_URL;
  const server = given ? { url: given, close: async () => {} } : await openBenchServer();
  const url = await createScratchDatabase(server.url);
  const store = await Store.open(url);
  const admin = connect(url);
  const processes: Liveness[] = [];
  try {
    const [version] = await admin<{ v: string }[]>`select current_setting('server_version') as v`;
    for (let i = 0; i < 4; i++) processes.push(await registerProcess(url));
    log(`write cost: chunks recorded with and without 0014's triggers and outcome indexes ...`);
    const writers = Array.from({ length: 4 }, () => connect(url));
    const cost = await measureWriteCost(
      store,
      admin,
      writers,
      processes[0]?.processId ?? 0,
    ).finally(() => Promise.all(writers.map((w) => w.end({ timeout: 5 }))));
    const started = performance.now();
    log(
      `writing ${size.tasks.toLocaleString()} tasks and ${(size.outcomeTasks * 10).toLocaleString()} outcomes ...`,
    );
    const fixture = await createFixture(
      admin,
      size,
      processes.map((p) => p.processId),
    );
    await admin`vacuum analyze sluice.tasks`;
    await admin`vacuum analyze sluice.outcomes`;
    await admin`vacuum analyze sluice.dead_letters`;
    await admin`vacuum analyze sluice.task_throughput`;
    log(`  written and vacuumed in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const [middle] = await admin<{ finishedAt: Date; seq: number }[]>`
      select finished_at as "finishedAt", seq from sluice.tasks
      where job_id = ${fixture.jobId} and status = 'failed'
      order by seq offset ${Math.floor(size.tasks / 200)} limit 1`;
    if (!middle) throw new Error('the fixture has too few failed tasks');
    const cursor = { finishedAt: middle.finishedAt.toISOString(), seq: middle.seq };
    const rows: string[] = [];
    let over = 0;
    for (const read of reads(fixture, cursor)) {
      const timings = await timeRead(url, admin, read);
      const server = timings.map((t) => t.serverMs);
      const max = Math.max(...server);
      if (max > budgetMs) over += 1;
      rows.push(
        `| ${read[0]} | ${timings[0]?.statements} | ${median(server).toFixed(2)} | ${max.toFixed(2)} | ` +
          `${median(timings.map((t) => t.wallMs)).toFixed(2)} | ${max <= budgetMs ? 'yes' : '**no**'} |`,
      );
      log(`  ${read[0]}: p50 ${median(server).toFixed(2)} ms, max ${max.toFixed(2)} ms`);
    }
    const where = given ? 'a given server' : 'embedded';
    console.log(
      `\nDashboard reads, PostgreSQL ${version?.v} (${where}), ${cpus().length} cores, load ${loadavg()[0]?.toFixed(1)}; ` +
        `job of ${size.tasks.toLocaleString()} tasks, ${fixture.outcomes.toLocaleString()} outcomes ` +
        `(${fixture.failedOutcomes.toLocaleString()} failed), ${fixture.deadLetters.toLocaleString()} dead letters; ` +
        `${reps} runs each\n`,
    );
    console.log(
      '| read | statements | server p50 ms | server max ms | client p50 ms | <= 100 ms |',
    );
    console.log('|---|---:|---:|---:|---:|:---:|');
    for (const row of rows) console.log(row);
    console.log(over === 0 ? '\nEvery read meets 100 ms.' : `\n${over} read(s) over 100 ms.`);
    console.log(
      `\nWrite cost: ${cost.writers} connections recording chunks of ${cost.chunk} outcomes (1 in 20 failed), ` +
        `${cost.seconds} s x 2 each: ${cost.with.toFixed(0)} chunks/s with 0014's rollup triggers and outcome ` +
        `indexes, ${cost.without.toFixed(0)} without: ${(cost.with / cost.without).toFixed(2)}x.`,
    );
  } finally {
    for (const p of processes) await p.release();
    await admin.end({ timeout: 5 });
    await store.close();
    await dropScratchDatabase(server.url).catch(() => {});
    await server.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
