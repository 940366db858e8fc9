// How soon does a 429 stop every process of a job? Two real `sluice run` processes share a global
// rate limit; one gets a 429 with Retry-After: 1 (bench/pause/scenario.ts). For each process, the
// latest request it started after the pause was written to the store, and before the pause ended.
// The target is 10 ms. Run alone and with two CPU hogs (`node -e 'for(;;){}'`) keeping both cores
// busy, side by side in one run.
//
//   npm run bench:pause                                    fresh embedded server, 3 runs a cell
//   BENCH_DATABASE_URL=postgres://... npm run bench:pause
//   BENCH_PAUSE_REPS=5 npm run bench:pause
import { type ChildProcess, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { runPauseScenario } from './pause/scenario.ts';
import { openBenchServer } from './server.ts';

const reps = Number(process.env.BENCH_PAUSE_REPS ?? 3);
const cases = [
  { rate: 40, executor: 'async' },
  { rate: 400, executor: 'async' },
  { rate: 400, executor: 'thread:2' },
];

const server = await openBenchServer();
const rows: string[] = [];
try {
  for (const hogs of [false, true]) {
    const hogProcesses: ChildProcess[] = hogs
      ? [0, 1].map(() => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }))
      : [];
    try {
      for (const { rate, executor } of cases) {
        const latest: number[] = [];
        const load = loadavg()[0] ?? 0;
        for (let rep = 0; rep < reps; rep++) {
          const name = `pause-latency-${rate}-${executor.replace(':', '-')}-${hogs}-${rep}`;
          const run = await runPauseScenario(server.url, name, rate, executor);
          const failed = run.exits.find((exit) => exit.code !== 0);
          if (failed) throw new Error(`a run failed: ${failed.stderr}`);
          latest.push(Math.max(...run.lastAfterPause));
        }
        const worst = Math.max(...latest);
        rows.push(
          `| ${rate}/s | ${executor} | ${hogs ? 'two hogs' : 'none'} | ${load.toFixed(1)} | ${latest.map((ms) => ms.toFixed(1)).join(', ')} | ${worst <= 10 ? 'yes' : 'no'} |`,
        );
        process.stderr.write(`${rows.at(-1)}\n`);
      }
    } finally {
      for (const hog of hogProcesses) hog.kill();
    }
  }
} finally {
  await server.close();
}

console.log(
  '| rate | executor | CPU hogs | load avg | latest start after the pause, ms (each run) | ≤ 10 ms |',
);
console.log('|---:|---|---|---:|---|---|');
for (const row of rows) console.log(row);
