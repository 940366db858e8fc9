// Throughput per executor mode on one CPU-bound job, as ratios to the best single-thread rate.
//
//   npm run bench:executors   fresh embedded server (BENCH_DATABASE_URL for another), BENCH_ROWS
//                             rows (default 120,000: ~20 s on one thread), BENCH_PER_RANGE rows per
//                             task (1,000: 60 tasks per worker of 2), BENCH_ROUNDS sha256 rounds
//                             per row (100), BENCH_WORK=js for pure JavaScript work instead of
//                             sha256 (bench/executorsWork.mjs), BENCH_REPS runs per mode (3; the
//                             median is shown),
//                             BENCH_ONLY=thread to run only the modes whose name contains it
//
// Each run plans the job afresh and includes starting and stopping the mode's workers. The time
// workers take to start (the pool up, the job module loaded in each) is also measured on its own.
import { once } from 'node:events';
import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import postgres from 'postgres';
import { type ExecutorOptions, type Job, loadJob, runJob, Store } from 'sluice';
import { createExecutor } from '../src/run/executors/createExecutor.ts';
import { createHashTable, hashRow } from './executorsJob.ts';
import { openBenchServer } from './server.ts';

const env = process.env;
const rows = Number(env.BENCH_ROWS ?? 120_000);
const reps = Number(env.BENCH_REPS ?? 3);
const rounds = Number(env.BENCH_ROUNDS ?? 100);

interface Variant {
  name: string;
  /** The single-thread baseline is the best of these: the plain loop and `sequential`. */
  single: boolean;
  executor?: ExecutorOptions;
  cap?: number;
  /** Raw worker threads hashing halves of the ids: what the machine gives two threads right now. */
  raw?: number;
}

const variants: Variant[] = [
  { name: 'plain loop, no sluice', single: true },
  { name: 'plain loop in 2 raw threads, no sluice (the machine now)', single: false, raw: 2 },
  { name: 'sequential', single: true, executor: { mode: 'sequential' } },
  { name: 'async (cap 8)', single: false, executor: { mode: 'async' } },
  { name: 'thread (2)', single: false, executor: { mode: 'thread', parallelism: 2 } },
  { name: 'process (2)', single: false, executor: { mode: 'process', parallelism: 2 } },
  {
    name: 'process/0 (cap 2)',
    single: false,
    executor: { mode: 'process', parallelism: 0 },
    cap: 2,
  },
];

/** The same work with no job around it: one query, one loop. */
async function plainLoop(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const all = await sql<{ id: number }[]>`select id from bench_hash`;
    let xor = 0;
    for (const { id } of all) xor ^= hashRow(id);
    return xor;
  } finally {
    await sql.end();
  }
}

// The job's work, in a worker thread with neither sluice nor tsx loaded.
const rawThread = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.workUrl).then(({ workFor }) => {
  const work = workFor(workerData.kind);
  let xor = 0;
  for (const id of workerData.ids) xor ^= work(id, workerData.rounds);
  parentPort.postMessage(xor);
});`;
const workUrl = new URL('./executorsWork.mjs', import.meta.url).href;

async function rawThreads(url: string, threads: number): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const ids = (await sql<{ id: number }[]>`select id from bench_hash`).map((r) => r.id);
  await sql.end();
  const share = Math.ceil(ids.length / threads);
  const parts = await Promise.all(
    Array.from({ length: threads }, async (_, i) => {
      const workerData = {
        ids: ids.slice(i * share, (i + 1) * share),
        rounds,
        workUrl,
        kind: env.BENCH_WORK ?? 'sha256',
      };
      const worker = new Worker(rawThread, { eval: true, workerData });
      const [xor] = (await once(worker, 'message')) as [number];
      await worker.terminate();
      return xor;
    }),
  );
  return parts.reduce((a, b) => a ^ b, 0);
}

/** The pool up and the job module loaded in every worker, then stopped: seconds, 0 without workers. */
async function workerStart(variant: Variant, url: string, job: Job): Promise<number> {
  if (!variant.executor) return 0;
  const executor = createExecutor({ ...job, executor: variant.executor }, url);
  if (!executor) return 0;
  const started = performance.now();
  await executor.start();
  const seconds = (performance.now() - started) / 1000;
  await executor.close();
  return seconds;
}

async function runVariant(variant: Variant, url: string, store: Store, job: Job) {
  const started = performance.now();
  let xor: number;
  if (variant.raw) xor = await rawThreads(url, variant.raw);
  else if (!variant.executor) xor = await plainLoop(url);
  else {
    const summary = await runJob(
      { ...job, executor: variant.executor },
      { sourceUrl: url, store, rerun: true, maxParallelism: variant.cap },
    );
    if (summary.status !== 'done') throw new Error(`${variant.name}: ${summary.status}`);
    xor = (summary.result as { xor: number }).xor;
  }
  return { seconds: (performance.now() - started) / 1000, xor };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function main() {
  const server = await openBenchServer();
  await createHashTable(server.url, rows);
  const store = await Store.open(server.url);
  const job = await loadJob(new URL('./executorsJob.ts', import.meta.url).pathname);
  console.log(
    `${rows} rows, ${rounds} rounds of ${env.BENCH_WORK ?? 'sha256'} each, ${reps} runs per mode, ${availableParallelism()} CPUs, load ${loadavg()[0]?.toFixed(1)}`,
  );
  // BENCH_ONLY=thread runs the modes whose name contains it, and always the baseline candidates.
  const only = env.BENCH_ONLY;
  const chosen = variants.filter((v) => !only || !v.executor || v.single || v.name.includes(only));
  const times = new Map<Variant, number[]>(chosen.map((v) => [v, []]));
  const starts = new Map<Variant, number[]>(chosen.map((v) => [v, []]));
  let expectedXor: number | undefined;
  try {
    // Rounds of every mode in turn, so a burst of load from elsewhere hits them alike.
    for (let i = 0; i < reps; i++) {
      for (const variant of chosen) {
        const { seconds, xor } = await runVariant(variant, server.url, store, job);
        expectedXor ??= xor;
        if (xor !== expectedXor) throw new Error(`${variant.name} computed another result`);
        times.get(variant)?.push(seconds);
        const start = await workerStart(variant, server.url, job);
        starts.get(variant)?.push(start);
        const starting = start > 0 ? ` (workers start ${start.toFixed(2)} s)` : '';
        process.stderr.write(`${variant.name}: ${seconds.toFixed(2)} s${starting}\n`);
      }
    }
  } finally {
    await store.close();
    await server.close();
  }
  const results = chosen.map((variant) => ({
    variant,
    seconds: median(times.get(variant) ?? []),
    start: median(starts.get(variant) ?? []),
  }));
  const best = Math.min(...results.filter((r) => r.variant.single).map((r) => r.seconds));
  console.log(
    '| mode | median s | rows/s | × best single thread | workers start s | × without the start |',
  );
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const { variant, seconds, start } of results) {
    const rate = Math.round(rows / seconds).toLocaleString('en-US');
    const cells = [
      variant.name,
      seconds.toFixed(2),
      rate,
      (best / seconds).toFixed(2),
      variant.executor && start > 0 ? start.toFixed(2) : '',
      variant.executor && start > 0 ? (best / (seconds - start)).toFixed(2) : '',
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
  console.log(`load after: ${loadavg()[0]?.toFixed(1)}`);
}

await main();
