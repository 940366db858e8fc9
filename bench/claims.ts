// Claims under concurrency (issue 11, section 1): cycles (claim one task, complete it) from C
// concurrent claimers, each on its own connection, for sluice's claim today and candidate
// designs, side by side with a plain SKIP LOCKED claim in the same run. A sampler counts the
// job's running tasks from the database every few ms and reports any read above the cap.
//
//   npm run bench:claims          a fresh embedded server
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:claims
//
// Either way the bench works in a database of its own (sluice_bench_claims), dropped at the end.
// BENCH_SECONDS (2) per cell, BENCH_REPS (2), BENCH_CLAIMERS (2,8,32,64), BENCH_TASKS per job,
// BENCH_DESIGNS (all; the baseline always runs).
// Cells run design after design, the order reversed every repetition, so the machine's noise
// falls on all alike. The candidates live in bench/claims/; src/store is untouched.
import { cpus, loadavg } from 'node:os';
import type { Sql } from 'postgres';
import { Store } from '../src/store/index.ts';
import { type CellResult, type CellSpec, runCell } from './claims/cell.ts';
import { countingDesign, countingVariants } from './claims/counting.ts';
import { currentDesign } from './claims/current.ts';
import type { Design } from './claims/design.ts';
import { liveCountDesign } from './claims/liveCount.ts';
import { type ProbeResult, probeLocks } from './claims/lockProbe.ts';
import { plainDesign } from './claims/plain.ts';
import { cellTable, designList, probeTable } from './claims/report.ts';
import { connect, createScratchDatabase, dropScratchDatabase } from './claims/scratch.ts';
import { slotsDesign, slotVariants } from './claims/slots.ts';
import { slotsCteDesign } from './claims/slotsCte.ts';
import { openBenchServer } from './server.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const reps = Number(process.env.BENCH_REPS ?? 2);
// BENCH_DESIGNS=a-current,c-keyshare runs those beside the baseline only.
const only = process.env.BENCH_DESIGNS?.split(',');
const claimerCounts = (process.env.BENCH_CLAIMERS ?? '2,8,32,64').split(',').map(Number);
// Enough that no cell runs out: a few times the fastest rate seen on this machine.
const tasks = Number(process.env.BENCH_TASKS ?? Math.ceil(seconds * 6000));
// A cap above every claimer count (throughput), and caps below it (the cap is what binds).
const roomyCap = 1000;
const tightShapes = [
  { claimers: 8, cap: 4 },
  { claimers: 32, cap: 16 },
];
const log = (line: string) => process.stderr.write(`${line}\n`);

async function runPhase(
  designs: readonly Design[],
  admin: Sql,
  conns: readonly Sql[],
  shapes: readonly { claimers: number; cap: number }[],
): Promise<CellResult[]> {
  const results: CellResult[] = [];
  for (let rep = 0; rep < reps; rep++) {
    for (const shape of shapes) {
      const order = rep % 2 === 0 ? designs : [...designs].reverse();
      for (const design of order) {
        const spec: CellSpec = { ...shape, seconds, tasks };
        const cell = await runCell(design, admin, conns, spec);
        results.push(cell);
        log(
          `  rep ${rep + 1}, ${shape.claimers} claimers, cap ${shape.cap}, ${design.key}: ` +
            `${(cell.cycles / cell.elapsedS).toFixed(0)} cycles/s, max running ${cell.maxRunning}` +
            `${cell.overCap ? `, ${cell.overCap} reads over the cap` : ''}${cell.problem ? `, ${cell.problem}` : ''}`,
        );
      }
    }
  }
  return results;
}

async function main() {
  const server = await openBenchServer();
  const url = await createScratchDatabase(server.url);
  const store = await Store.open(url);
  const admin = connect(url);
  const most = Math.max(...claimerCounts, ...tightShapes.map((t) => t.claimers), 3);
  const conns = Array.from({ length: most }, () => connect(url));
  try {
    const designs = (
      [
        await plainDesign(admin),
        currentDesign(store),
        ...(await Promise.all(countingVariants.map((v) => countingDesign(admin, v)))),
        await liveCountDesign(admin),
        ...(await Promise.all(slotVariants.map((v) => slotsDesign(admin, v)))),
        await slotsCteDesign(admin),
      ] satisfies Design[]
    ).filter((d) => d.key === 'plain' || !only || only.includes(d.key));
    await Promise.all(conns.map((c) => c`select 1`));
    const [info] = await admin<{ version: string; fsync: string; commit: string }[]>`
      select current_setting('server_version') as version, current_setting('fsync') as fsync,
        current_setting('synchronous_commit') as commit`;
    const where = process.env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL' : 'embedded';
    const header =
      `PostgreSQL ${info?.version} (${where}), fsync ${info?.fsync}, synchronous_commit ${info?.commit}; ` +
      `${cpus().length} cores, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at start; ${seconds} s per cell, ${reps} reps, ${tasks} tasks per job`;
    log(header);

    const roomy = await runPhase(
      designs,
      admin,
      conns,
      claimerCounts.map((claimers) => ({ claimers, cap: roomyCap })),
    );
    const tight = await runPhase(designs, admin, conns, tightShapes);
    const probes: ProbeResult[] = [];
    for (const design of designs) probes.push(await probeLocks(design, admin, conns));

    console.log(
      [
        `## Claims: ${header}`,
        `Load average at the end: ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}.`,
        '',
        designList(designs),
        '',
        cellTable(
          `Throughput: cap ${roomyCap}, above every claimer count`,
          roomy,
          designs,
          'plain',
        ),
        '',
        cellTable('The cap binds: fewer slots than claimers', tight, designs, 'plain'),
        '',
        probeTable(probes),
      ].join('\n'),
    );
  } finally {
    await Promise.all(conns.map((c) => c.end({ timeout: 5 })));
    await admin.end({ timeout: 5 });
    await store.close();
    await dropScratchDatabase(server.url);
    await server.close();
  }
}

await main();
