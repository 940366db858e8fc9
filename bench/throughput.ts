// Throughput of fine-grained work (issue: "fine-grained work is slow"): no-op work over 20,000
// items at concurrency 8, one item per task and 100 items per task, for sluice beside
// graphile-worker (defaults; with its local queue and batched completions; batch jobs) and pg-boss
// (batches of 100), side by side in one run on one server.
//
//   npm run bench:throughput                         a fresh embedded server
//   npm run bench:throughput -- --database-url postgres://postgres@127.0.0.1:5432/test
//   (or BENCH_DATABASE_URL=...)
//
// BENCH_ITEMS (20000), BENCH_CAP (8), BENCH_REPS (2), BENCH_ONLY (a comma list of system keys, for
// profiling one: sluice, gw-defaults, gw-local, gw-batch, gw-batch-local, pg-boss).
// What is timed, for every system alike: from starting its workers to the last completion recorded
// in the database (sluice: the `runJob` call after planning with `detach`; graphile-worker: `run`
// until every job ran and `stop` flushed the completions; pg-boss: until no job is left
// uncompleted). Enqueueing and planning are not timed. Each cell has a fresh database; cells run
// system after system, the order reversed every repetition, so the machine's noise falls on all.
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { openBenchServer } from './server.ts';
import { withScratchDatabase } from './throughput/scratch.ts';
import { graphileWorker, pgBoss, type Spec, type System, sluice } from './throughput/systems.ts';

const env = process.env;
const items = Number(env.BENCH_ITEMS ?? 20_000);
const cap = Number(env.BENCH_CAP ?? 8);
const reps = Number(env.BENCH_REPS ?? 2);
const only = env.BENCH_ONLY?.split(',');
const { values } = parseArgs({ options: { 'database-url': { type: 'string' } } });
const log = (line: string) => process.stderr.write(`${line}\n`);

// graphile-worker's batching as its docs suggest for many fast jobs: a local queue well above the
// concurrency, and completions gathered for a moment (0 ms: whatever finished meanwhile).
const gwTuning = { localQueueSize: 100, completeJobBatchDelay: 0 };

interface Row {
  title: string;
  perTask: number;
  /** [bench key, label, system, role]: `target` is the bar for sluice, `gw` any other graphile-worker cell. */
  cells: [string, string, System, 'target' | 'gw' | 'other'][];
}

const rows: Row[] = [
  {
    title: 'one item per task',
    perTask: 1,
    cells: [
      ['sluice', 'sluice', sluice, 'other'],
      ['gw-defaults', 'graphile-worker defaults', graphileWorker('gw-defaults'), 'gw'],
      [
        'gw-local',
        'graphile-worker local queue + batched completions',
        graphileWorker('gw-local', gwTuning),
        'target',
      ],
      ['pg-boss', 'pg-boss, batches of 100', pgBoss(100), 'other'],
    ],
  },
  {
    title: '100 items per task',
    perTask: 100,
    cells: [
      ['sluice', 'sluice', sluice, 'other'],
      ['gw-batch', 'graphile-worker batch jobs of 100', graphileWorker('gw-batch'), 'target'],
      [
        'gw-batch-local',
        'graphile-worker batch jobs of 100, local queue + batched completions',
        graphileWorker('gw-batch-local', gwTuning),
        'gw',
      ],
    ],
  },
];

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main() {
  const server = values['database-url']
    ? { url: values['database-url'], close: async () => {} }
    : env.BENCH_DATABASE_URL
      ? { url: env.BENCH_DATABASE_URL, close: async () => {} }
      : await openBenchServer();
  const rates = new Map<string, number[]>();
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const row of rows) {
        const cells = row.cells.filter(([key]) => !only || only.includes(key));
        for (const [key, label, system] of rep % 2 === 0 ? cells : [...cells].reverse()) {
          const spec: Spec = { items, perTask: row.perTask, cap };
          const ms = await withScratchDatabase(server.url, 'sluice_bench_throughput', (url) =>
            system.run(url, spec),
          );
          const rate = (items * 1000) / ms;
          const id = `${row.perTask}:${key}`;
          rates.set(id, [...(rates.get(id) ?? []), rate]);
          log(
            `rep ${rep + 1}, ${row.title}, ${label}: ${rate.toFixed(0)} items/s (${ms.toFixed(0)} ms)`,
          );
        }
      }
    }
  } finally {
    await server.close();
  }
  report(rates);
}

function report(rates: Map<string, number[]>) {
  console.log(
    `\n${items} items, cap ${cap}, ${reps} repetitions (mean), ${cpus().length} cores, load ${loadavg()[0]?.toFixed(2)}`,
  );
  // The bars: one item per task against graphile-worker's local queue with batched
  // completions, 100 items per task against its batch jobs; the best graphile-worker cell beside.
  console.log("| work | system | items/s | runs | × the issue's bar | × graphile-worker's best |");
  console.log('|---|---|---:|---|---:|---:|');
  for (const row of rows) {
    const measured = row.cells
      .map(([key, label, , role]) => ({ label, role, runs: rates.get(`${row.perTask}:${key}`) }))
      .filter((cell): cell is typeof cell & { runs: number[] } => cell.runs !== undefined);
    const target = measured.find((cell) => cell.role === 'target');
    const bar = target ? mean(target.runs) : 0;
    const best = Math.max(
      0,
      ...measured.filter((c) => c.role !== 'other').map((c) => mean(c.runs)),
    );
    const times = (rate: number, of: number) => (of > 0 ? `${(rate / of).toFixed(2)}×` : '–');
    for (const { label, runs } of measured) {
      const each = runs.map((r) => r.toFixed(0)).join(', ');
      console.log(
        `| ${row.title} | ${label} | ${mean(runs).toFixed(0)} | ${each} | ${times(mean(runs), bar)} | ${times(mean(runs), best)} |`,
      );
    }
  }
}

await main();
