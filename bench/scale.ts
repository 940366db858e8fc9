// Scale (issue: connections): 100 `sluice worker --concurrency 1` processes on one job of 2,000
// ranges, each sleeping 20 ms, under a global cap of 50, on a PostgreSQL with max_connections =
// 410. Checked from the database: every range ran exactly once (scale_runs), the cap held (running
// tasks polled every 50 ms, and the peak overlap of the recorded executions), and no worker wrote
// an error or warning. Measured: tasks/s against the cap's own limit (50 / 20 ms), claim latency
// across every worker (their sluice_claim_duration_seconds histograms, scraped at the end), and
// peak server connections (pg_stat_activity), in all and per worker process.
//
//   npm run bench:scale         a fresh embedded server started with max_connections = 410
//   BENCH_DATABASE_URL=...      a server of your own (max_connections must be >= 410)
//
// SCALE_WORKERS (100), SCALE_RANGES (2000), SCALE_CAP (50), SCALE_SLEEP_MS (20), SCALE_WAVE (10).
// The workers start in waves before the job is planned and wait for it; `sluice run --detach`
// then plans it, and they all join within a second.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import postgres, { type Sql } from 'postgres';
import { quantileMs, scrapeClaims } from './scale/claimHistogram.ts';
import { type Peaks, startSamples } from './scale/samples.ts';
import { startScaleServer } from './scale/server.ts';
import { startWorkers, stopWorkers, type WorkerProcess } from './scale/workers.ts';

const env = process.env;
const workerCount = Number(env.SCALE_WORKERS ?? 100);
const ranges = Number(env.SCALE_RANGES ?? 2000);
const cap = Number(env.SCALE_CAP ?? 50);
const sleepMs = Number(env.SCALE_SLEEP_MS ?? 20);
const wave = Number(env.SCALE_WAVE ?? 10);
// 100 workers × (3 state + 1 source) = 400, and the bench's own sampler and the planner need room.
const maxConnections = 410;
const scratch = 'sluice_bench_scale';
const jobModule = 'bench/scale/job.ts';
const root = fileURLToPath(new URL('../', import.meta.url));
const bin = fileURLToPath(new URL('../bin/sluice.js', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main() {
  const given = env.BENCH_DATABASE_URL;
  const server = given
    ? { url: given, close: async () => {} }
    : await startScaleServer(maxConnections);
  const admin = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    const [setting] = await admin<
      { max: number }[]
    >`select current_setting('max_connections')::int as max`;
    if ((setting?.max ?? 0) < maxConnections)
      throw new Error(
        `the server's max_connections is ${setting?.max}; the bench needs ${maxConnections}`,
      );
    await admin.unsafe(`drop database if exists "${scratch}" with (force)`);
    await admin.unsafe(`create database "${scratch}"`);
    const url = new URL(server.url);
    url.pathname = `/${scratch}`;
    await runBench(url.toString());
  } finally {
    await admin.unsafe(`drop database if exists "${scratch}" with (force)`).catch(() => {});
    await admin.end();
    await server.close();
  }
}

async function runBench(url: string) {
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const workers: WorkerProcess[] = [];
  let samples: ReturnType<typeof startSamples> | undefined;
  try {
    await sql`create table scale_items (id int primary key)`;
    await sql`insert into scale_items select generate_series(1, ${ranges}::int)`;
    await sql`create table scale_runs (seq int not null, pid int not null,
      started_ms float8 not null, finished_ms float8 not null)`;
    const jobEnv = { DATABASE_URL: url, SCALE_CAP: String(cap), SCALE_SLEEP_MS: String(sleepMs) };
    samples = startSamples(sql);
    log(`starting ${workerCount} workers, ${wave} at a time`);
    const startedAt = Date.now();
    const args = [jobModule, '--concurrency', '1'];
    await startWorkers(workers, workerCount, wave, args, jobEnv, log);
    log(`all up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; planning ${ranges} ranges`);
    const waiting = samples.phase();
    await promisify(execFile)(process.execPath, [bin, 'run', jobModule, '--detach'], {
      cwd: root,
      env: { ...process.env, ...jobEnv },
    });
    await waitForDone(sql, 240_000);
    await samples.stop();
    const running = samples.phase();
    const claims = await scrapeClaims(workers.map((worker) => worker.metricsUrl));
    const exits = await stopWorkers(workers);
    await report(sql, {
      claims,
      running,
      waiting,
      problems: workers.flatMap((worker) => problemLines(worker.stderr())),
      badExits: exits.filter((exit) => exit.code !== 130 && exit.code !== 0).length,
    });
  } finally {
    // A failed run leaves no worker or sampler behind.
    await stopWorkers(workers);
    await samples?.stop();
    await sql.end();
  }
}

async function waitForDone(sql: Sql, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [job] = await sql<{ status: string }[]>`
      select status from sluice.jobs where name = 'scale'`.catch(() => []);
    if (job?.status === 'done') return;
    if (job && job.status !== 'running') throw new Error(`the job ended ${job.status}`);
    if (Date.now() > deadline) throw new Error(`the job was not done within ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** A worker's log lines at warn or error, and any line about a connection. */
function problemLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => /"level":"(warn|error|fatal)"|connection|ECONN|too many clients/i.test(line))
    .filter((line) => !line.includes('"event":"job:stopping"'));
}

interface Measured {
  claims: Awaited<ReturnType<typeof scrapeClaims>>;
  running: Peaks;
  waiting: Peaks;
  problems: string[];
  badExits: number;
}

async function report(sql: Sql, m: Measured) {
  const [runs] = await sql<{ runs: number; distinct: number; first: number; last: number }[]>`
    select count(*)::int as runs, count(distinct seq)::int as distinct,
      min(started_ms) as first, max(finished_ms) as last from scale_runs`;
  const [overlap] = await sql<{ peak: number }[]>`
    select coalesce(max(live), 0)::int as peak from (
      select sum(delta) over (order by at, delta) as live from (
        select started_ms as at, 1 as delta from scale_runs
        union all select finished_ms, -1 from scale_runs) edges) running`;
  const seconds = ((runs?.last ?? 0) - (runs?.first ?? 0)) / 1000;
  const tasksPerS = (runs?.runs ?? 0) / seconds;
  const limitPerS = (cap * 1000) / sleepMs;
  const rows: [string, string][] = [
    ['workers × concurrency', `${workerCount} × 1`],
    ['ranges run / distinct / planned', `${runs?.runs} / ${runs?.distinct} / ${ranges}`],
    [
      'cap / peak running (polled) / peak overlap',
      `${cap} / ${m.running.running} / ${overlap?.peak}`,
    ],
    ['job time (first start to last end)', `${seconds.toFixed(2)} s`],
    [
      'tasks/s (vs the cap limit)',
      `${tasksPerS.toFixed(0)} (${((100 * tasksPerS) / limitPerS).toFixed(0)}% of ${limitPerS})`,
    ],
    ['claim statements, per s', `${m.claims.count}, ${(m.claims.count / seconds).toFixed(0)}`],
    [
      'claim p50 / p99 / mean',
      `${quantileMs(m.claims, 0.5).toFixed(1)} / ${quantileMs(m.claims, 0.99).toFixed(1)} / ${((1000 * m.claims.sumSeconds) / m.claims.count).toFixed(1)} ms`,
    ],
    [
      'peak server connections, running (all / most per worker)',
      `${m.running.connections} / ${m.running.perProcess}`,
    ],
    [
      'peak server connections, waiting for the job',
      `${m.waiting.connections} / ${m.waiting.perProcess}`,
    ],
    ['warning or connection lines / bad exits', `${m.problems.length} / ${m.badExits}`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
  for (const line of m.problems.slice(0, 5)) log(`  ${line}`);
  const exact = runs?.runs === ranges && runs?.distinct === ranges;
  const capped = (overlap?.peak ?? 0) <= cap && m.running.running <= cap;
  if (!exact || !capped || m.problems.length > 0 || m.badExits > 0) {
    log('FAILED: not exact, over the cap, or a worker reported a problem');
    process.exitCode = 1;
  }
}

await main();
