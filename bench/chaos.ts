// The chaos suite: a 1,000,000-row cursor job that writes with `upsert` (bench/chaosJob.ts), run
// by a coordinator (`sluice run`) and three `sluice worker` processes against an embedded
// PostgreSQL of its own, while the suite SIGKILLs processes at random (each restarted), restarts
// PostgreSQL once, and cuts one worker's link to the database through a TCP proxy. Then it checks
// the target against its ground truth, the dead letters against the planted poison, every
// re-applied row against the attempts a kill cut, and the cap, and prints the figures.
//
//   npm run chaos                                  1,000,000 rows, 20 kills
//   CHAOS_TRANSACTIONAL=1 npm run chaos            with `transactional: true`: 0 re-applied rows
//   CHAOS_ROWS=100000 CHAOS_KILLS=6 npm run chaos  a quick run
//   CHAOS_CAP (6), CHAOS_BATCH rows per chunk (5000), CHAOS_TASK_MS paced work per chunk (5000),
//   CHAOS_CONCURRENCY per process (2), CHAOS_GAP_MS between kills (2500-6000),
//   CHAOS_CUT_END=closed to close the cut link rather than heal it
//
// Exit 0 when every check holds, 1 otherwise.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  attemptOverlap,
  type Check,
  type Disruptions,
  deadLettersArePoison,
  reappliedRows,
  targetMatchesTruth,
} from './chaos/checks.ts';
import { type CutReport, cutLink } from './chaos/cut.ts';
import { connect, type Restart, seedTables, startChaosServer } from './chaos/database.ts';
import { Fleet, type Role } from './chaos/processes.ts';
import { startProxy } from './chaos/proxy.ts';
import { describeRestart } from './chaos/restart.ts';
import { startSampler } from './chaos/sampler.ts';

const env = process.env;
const rows = Number(env.CHAOS_ROWS ?? 1_000_000);
const kills = Number(env.CHAOS_KILLS ?? 20);
const cap = Number(env.CHAOS_CAP ?? 6);
const transactional = env.CHAOS_TRANSACTIONAL === '1';
const concurrency = env.CHAOS_CONCURRENCY ?? '2';
const [gapMin, gapMax] = (env.CHAOS_GAP_MS ?? '2500-6000').split('-').map(Number) as [
  number,
  number,
];
const cutEnding = env.CHAOS_CUT_END === 'closed' ? 'closed' : 'healed';
const job = transactional ? 'chaos-transactional' : 'chaos';
const poisonCount = 7;
const root = fileURLToPath(new URL('../', import.meta.url));
const log = (line: string) =>
  process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

const began = Date.now();
const server = await startChaosServer();
let fleet: Fleet | undefined;
// Whatever fails, the processes and the server (which runs detached) must not outlive the suite.
process.once('uncaughtException', async (error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  await fleet?.stop().catch(() => {});
  await server.close().catch(() => {});
  process.exit(1);
});
const sql = connect(server.url);
const poison = await seedTables(sql, rows, poisonCount);
log(
  `seeded ${rows} rows, poison ${poison.join(', ')} (${((Date.now() - began) / 1000).toFixed(1)} s)`,
);
const port = Number(new URL(server.url).port);
const proxy = await startProxy(port);
const proxied = new URL(server.url);
proxied.port = String(proxy.port);
const logDir = await mkdtemp(join(tmpdir(), 'sluice-chaos-logs-'));
fleet = new Fleet(join(root, 'bin/sluice.js'), root, logDir, {
  ...env,
  CHAOS_JOB: job,
  CHAOS_CAP: String(cap),
  CHAOS_TRANSACTIONAL: transactional ? '1' : '0',
  CHAOS_ENDS_FILE: join(logDir, 'attempt-ends.log'),
});
const module = 'bench/chaosJob.ts';
const roles: Role[] = [
  {
    name: 'coordinator',
    args: ['run', module, '--concurrency', concurrency],
    databaseUrl: server.url,
  },
  ...[1, 2, 3].map((n) => ({
    name: `worker${n}`,
    args: ['worker', module, '--concurrency', concurrency, '--exit-when-done'],
    // The third worker reaches PostgreSQL only through the proxy the suite cuts.
    databaseUrl: n === 3 ? proxied.toString() : server.url,
  })),
];

const runStart = Date.now();
fleet.start(roles[0] as Role);
const sampler = startSampler(connect(server.url), job);
while (!sampler.planned()) await sleep(100);
for (const role of roles.slice(1)) fleet.start(role);
log(`job planned (${sampler.total()} tasks); 3 workers started; logs in ${logDir}`);

const killed: { role: string; pid: number; at: number }[] = [];
let cut: CutReport | undefined;
let cutting: Promise<CutReport> | undefined;
let restart: Restart | undefined;
const cutAfter = Math.max(1, Math.round(kills * 0.2));
const restartAfter = Math.max(2, Math.round(kills * 0.6));
for (let k = 1; k <= kills && !sampler.ended(); k++) {
  await sleep(gapMin + Math.random() * (gapMax - gapMin));
  if (sampler.ended()) break;
  if (k === cutAfter) {
    cutting = cutLink(sql, job, proxy, () => fleet.pidOf('worker3'), {
      maxMs: 120_000,
      holdAfterMs: 2000,
      ending: cutEnding,
    }).then((report) => {
      cut = report;
      log(
        `link healed (${report.ending}) after ${((Date.now() - report.cutAt) / 1000).toFixed(1)} s`,
      );
      return report;
    });
    await sleep(200);
    log(`cut worker3's link`);
  }
  if (k === restartAfter) {
    // Some time after the link healed, so the cut worker's late attempt can be seen ending.
    const healed = await cutting;
    if (healed) await sleep(Math.max(0, (healed.healedAt ?? 0) + 15_000 - Date.now()));
    log('restarting PostgreSQL');
    restart = await server.restart(3000);
    log(
      `PostgreSQL back after ${((restart.startedAt - restart.stoppedAt) / 1000).toFixed(1)} s down`,
    );
  }
  // A cut worker is not killed: its tasks must be reclaimed because of the cut alone.
  const candidates = fleet.alive().filter((r) => !(r === 'worker3' && cutting && !cut));
  const role = candidates[Math.floor(Math.random() * candidates.length)];
  const life = role ? fleet.kill(role) : undefined;
  if (role && life) {
    killed.push({ role, pid: life.pid, at: life.killedAt as number });
    log(
      `kill ${killed.length}: ${role} (pid ${life.pid}), ${sampler.done()}/${sampler.total()} tasks done`,
    );
  }
}
if (cutting) await cutting;
log(`chaos over; waiting for the job to end`);
const finished = await fleet.allFinished(
  roles.map((r) => r.name),
  600_000,
);
const runS = (Date.now() - runStart) / 1000;
await fleet.stop();
await sampler.stop();

const d: Disruptions = {
  lives: fleet.lives,
  restart,
  cut: cut ? { pids: cut.pids, cutAt: cut.cutAt, healedAt: cut.healedAt } : undefined,
};
const checks: Check[] = [
  { name: 'every process ended with the job', ok: finished, detail: `${runS.toFixed(0)} s` },
  { name: `${kills} kills delivered`, ok: killed.length === kills, detail: `${killed.length}` },
  await targetMatchesTruth(sql),
  await deadLettersArePoison(sql, job, poison),
];
const reapplied = await reappliedRows(sql, d);
checks.push(reapplied.check);
if (transactional) {
  checks.push({
    name: 'transactional: 0 re-applied rows',
    ok: reapplied.rows === 0,
    detail: `${reapplied.rows}`,
  });
}
const overlap = await attemptOverlap(sql, d, join(logDir, 'attempt-ends.log'));
checks.push({
  name: `cap ${cap} never exceeded`,
  ok: sampler.maxRunning() <= cap && overlap <= cap,
  detail: `most running in sluice.tasks ${sampler.maxRunning()} (${sampler.samples()} samples, 50 ms); most attempts at once ${overlap}`,
});

const ownExits = fleet.lives.filter(
  (l) =>
    l.killedAt === undefined && l.code !== null && l.code !== undefined && ![0, 3].includes(l.code),
);
const fig = (name: string, value: string | number) => console.log(`| ${name} | ${value} |`);
console.log(`\n| figure (${transactional ? 'transactional: true' : 'plain upsert'}) | value |`);
console.log('|---|---|');
fig(
  'rows / tasks / cap / processes',
  `${rows} / ${sampler.total()} / ${cap} / 1 coordinator + 3 workers, --concurrency ${concurrency}`,
);
fig('run time (first start to last exit)', `${runS.toFixed(0)} s`);
fig(
  'SIGKILLs',
  `${killed.length}: coordinator ${killed.filter((k) => k.role === 'coordinator').length}, workers ${killed.filter((k) => k.role !== 'coordinator').length}`,
);
fig('attempts / attempts cut', `${reapplied.attempts} / ${reapplied.cutAttempts}`);
fig(
  're-applied rows (applications > 1)',
  `${reapplied.rows} in ${reapplied.tasks} tasks, ${reapplied.extraApplications} extra applications`,
);
fig(
  're-applied rows by cause',
  [...reapplied.byCause].map(([c, n]) => `${c} ${n}`).join(', ') || 'none',
);
fig('PostgreSQL restart', restart ? describeRestart(fleet.lives, restart) : 'not reached');
fig('exits of their own (all causes), restarted by the suite', ownExits.length);
if (cut) {
  const f = (xs: number[]) => (xs.length ? xs.map((x) => x.toFixed(1)).join(', ') : 'none');
  fig('network cut: tasks in flight', cut.inFlight.length);
  fig('network cut: store gave them back after (s)', f(cut.reclaimedS));
  fig('network cut: another process started them after (s)', f(cut.restartedS));
  fig(
    'network cut: link',
    `${cut.ending} after ${(((cut.healedAt ?? 0) - cut.cutAt) / 1000).toFixed(1)} s; completions refused afterwards ${fleet.lives.reduce((n, l) => n + l.refused, 0)}`,
  );
}
console.log('\n| check | ok | detail |\n|---|---|---|');
for (const c of checks) console.log(`| ${c.name} | ${c.ok ? 'yes' : '**NO**'} | ${c.detail} |`);
console.log(`\nprocess logs: ${logDir}`);

await sql.end({ timeout: 1 });
await proxy.close();
await server.close();
process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
