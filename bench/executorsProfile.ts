// Where a thread or process pool loses time against the single-thread rate: worker start, each
// worker's idle gap between tasks, and the CPU of the coordinator's main thread, of the workers
// and of PostgreSQL (Linux /proc).
//
//   node --import tsx bench/executorsProfile.ts   BENCH_ROWS (120,000), BENCH_ROUNDS (100),
//                                                 BENCH_PER_RANGE (1,000), BENCH_ONLY=thread
import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import postgres from 'postgres';
import { type ExecutorOptions, type Job, loadJob, runJob, Store } from 'sluice';
import { createExecutor } from '../src/run/executors/createExecutor.ts';
import { createHashTable } from './executorsJob.ts';
import { openBenchServer } from './server.ts';

const env = process.env;
const rows = Number(env.BENCH_ROWS ?? 120_000);
const tick = 100; // USER_HZ: /proc times are in 1/100 s

const modes: { name: string; executor: ExecutorOptions }[] = [
  { name: 'sequential', executor: { mode: 'sequential' } },
  { name: 'async (cap 8)', executor: { mode: 'async' } },
  { name: 'thread (2)', executor: { mode: 'thread', parallelism: 2 } },
  { name: 'process (2)', executor: { mode: 'process', parallelism: 2 } },
];

/** utime + stime of one process or thread, in seconds; 0 once it is gone. */
async function cpuOf(statPath: string): Promise<number> {
  try {
    const stat = await readFile(statPath, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / tick;
  } catch {
    return 0;
  }
}

/** Processes whose parent is `parent`, with their cumulative CPU, children's reaped CPU included. */
async function childrenCpu(parent: number): Promise<Map<number, number>> {
  const found = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== parent) continue;
      found.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / tick);
    } catch {}
  }
  return found;
}

async function postmasterOf(url: string): Promise<number | undefined> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ dir: string }[]>`select current_setting('data_directory') as dir`;
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (cmd.includes(row?.dir ?? '\0') && cmd.startsWith('/')) return Number(entry);
    }
  } finally {
    await sql.end();
  }
  return undefined;
}

/** The postmaster's own CPU plus its backends' (live and reaped: cutime/cstime). */
async function serverCpu(postmaster: number | undefined): Promise<number> {
  if (!postmaster) return Number.NaN;
  const stat = await readFile(`/proc/${postmaster}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const own = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / tick;
  let live = 0;
  for (const cpu of (await childrenCpu(postmaster)).values()) live += cpu;
  return own + live;
}

interface Span {
  worker: string;
  startMs: number;
  endMs: number;
}

const median = (values: number[]) =>
  values.length ? ([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number) : 0;

function gaps(spans: Span[]) {
  const byWorker = new Map<string, Span[]>();
  for (const span of spans) byWorker.set(span.worker, [...(byWorker.get(span.worker) ?? []), span]);
  const all: number[] = [];
  let busy = 0;
  for (const list of byWorker.values()) {
    list.sort((a, b) => a.startMs - b.startMs);
    for (let i = 0; i < list.length; i++) {
      const span = list[i] as Span;
      busy += span.endMs - span.startMs;
      const next = list[i + 1];
      if (next) all.push(next.startMs - span.endMs);
    }
  }
  // Task time by quarter of the run: a worker that slows down as it goes shows here.
  const ordered = [...spans].sort((a, b) => a.startMs - b.startMs);
  const quarter = Math.max(1, Math.floor(ordered.length / 4));
  const quarters = [0, 1, 2, 3].map((q) =>
    median(ordered.slice(q * quarter, (q + 1) * quarter).map((s) => s.endMs - s.startMs)),
  );
  const first = Math.min(...spans.map((s) => s.startMs));
  const last = Math.max(...spans.map((s) => s.endMs));
  return {
    quarters,
    first,
    last,
    workers: byWorker.size,
    gapMedian: median(all),
    gapMean: all.reduce((a, b) => a + b, 0) / Math.max(1, all.length),
    taskMs: busy / spans.length,
    busyShare: busy / byWorker.size / (last - first),
  };
}

async function main() {
  const server = await openBenchServer();
  await createHashTable(server.url, rows);
  const postmaster = await postmasterOf(server.url);
  const store = await Store.open(server.url);
  const job = await loadJob(new URL('./executorsProfileJob.ts', import.meta.url).pathname);
  console.log(
    `${rows} rows, ${availableParallelism()} CPUs, load ${loadavg()[0]?.toFixed(1)}, postmaster ${postmaster}`,
  );
  try {
    for (const { name, executor } of modes) {
      if (env.BENCH_ONLY && !name.includes(env.BENCH_ONLY)) continue;
      const modeJob = { ...job, executor } as Job;
      // Worker start alone: the pool up and the module loaded in every worker.
      const pool = createExecutor(modeJob, server.url);
      const startAt = performance.now();
      await pool?.start();
      const startMs = performance.now() - startAt;
      await pool?.close();

      const main0 = await cpuOf(`/proc/self/task/${process.pid}/stat`);
      const all0 = process.cpuUsage();
      const pg0 = await serverCpu(postmaster);
      const kids = new Map<number, number>();
      // Child processes' CPU, sampled: /proc forgets a process once it is reaped. Scanning /proc
      // costs the coordinator CPU too, so only where there are children.
      const sampler = setInterval(async () => {
        if (executor.mode !== 'process') return;
        for (const [pid, cpu] of await childrenCpu(process.pid)) kids.set(pid, cpu);
      }, 500);
      const began = performance.now();
      const beganMs = performance.timeOrigin + began;
      const summary = await runJob(modeJob, { sourceUrl: server.url, store, rerun: true });
      const seconds = (performance.now() - began) / 1000;
      clearInterval(sampler);
      const mainCpu = (await cpuOf(`/proc/self/task/${process.pid}/stat`)) - main0;
      const all1 = process.cpuUsage(all0);
      const processCpu = (all1.user + all1.system) / 1e6;
      const pgCpu = (await serverCpu(postmaster)) - pg0;
      let childCpu = 0;
      for (const cpu of kids.values()) childCpu += cpu;
      const g = gaps((summary.result as { spans: Span[] }).spans);
      console.log(
        [
          `${name}: ${seconds.toFixed(2)} s, workers start ${startMs.toFixed(0)} ms`,
          `  first task began at ${((g.first - beganMs) / 1000).toFixed(2)} s, the last ended ${((beganMs + seconds * 1000 - g.last) / 1000).toFixed(2)} s before the run returned`,
          `  task ms by quarter of the run (median): ${g.quarters.map((q) => q.toFixed(0)).join(', ')}`,
          `  task ${g.taskMs.toFixed(1)} ms in ${g.workers} workers, gap between tasks median ${g.gapMedian.toFixed(1)} ms mean ${g.gapMean.toFixed(1)} ms, busy ${(g.busyShare * 100).toFixed(1)}%`,
          `  cpu s: coordinator main thread ${mainCpu.toFixed(2)}, this process ${processCpu.toFixed(2)}, child processes ~${childCpu.toFixed(2)}, postgres ${pgCpu.toFixed(2)}`,
        ].join('\n'),
      );
    }
  } finally {
    await store.close();
    await server.close();
  }
  console.log(`load after: ${loadavg()[0]?.toFixed(1)}`);
}

await main();
