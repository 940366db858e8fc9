// Crash recovery time: SIGKILL a worker in the middle of a task and measure how long until
// another worker starts that task, for sluice, graphile-worker and pg-boss, each with its
// default settings, side by side in one run.
//
//   nice npm run bench:recovery                       fresh embedded server
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test nice npm run bench:recovery
//   BENCH_RECOVERY_REPS=5           repetitions for sluice (default 5)
//   BENCH_RECOVERY_PEER_REPS=1      repetitions for each peer (default 1)
//   BENCH_RECOVERY_PEER_WAIT_S=120  how long to wait for a peer to recover before giving up
//   BENCH_RECOVERY_PGBOSS_WAIT_S=1100  wait longer for pg-boss alone, to see its 15-min expiry
//
// Each trial has a database of its own. The victim worker takes the only task; a second worker
// (the rescuer) is started and left idle; the victim is SIGKILLed; the time is from the kill to
// the rescuer's start of the task, as recorded by the task itself on the server's clock.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { quickAddJob } from 'graphile-worker';
import PgBoss from 'pg-boss';
import postgres, { type Sql } from 'postgres';
import { openBenchServer } from './server.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const reps = Number(process.env.BENCH_RECOVERY_REPS ?? 5);
const peerReps = Number(process.env.BENCH_RECOVERY_PEER_REPS ?? 1);
const peerWaitMs = Number(process.env.BENCH_RECOVERY_PEER_WAIT_S ?? 120) * 1000;
type System = 'sluice' | 'graphile-worker' | 'pg-boss';
const waitMs: Record<System, number> = {
  sluice: 60_000,
  'graphile-worker': peerWaitMs,
  'pg-boss': Number(process.env.BENCH_RECOVERY_PGBOSS_WAIT_S ?? peerWaitMs / 1000) * 1000,
};
const log = (line: string) => process.stderr.write(`${line}\n`);

const systems: System[] = ['sluice', 'graphile-worker', 'pg-boss'];
/** What decides each system's recovery time with its defaults. */
const mechanism: Record<System, string> = {
  sluice: 'session advisory lock dies with the connection; reclaim checked every 1 s',
  'graphile-worker': "a dead worker's lock is reset after 4 hours (resetLockedAt)",
  'pg-boss': 'an active job expires after 15 min (expireIn), then is retried (retryLimit 2)',
};

function startWorker(system: System, url: string): ChildProcess {
  const args =
    system === 'sluice'
      ? ['bin/sluice.js', 'worker', 'bench/recoveryJob.ts', '--concurrency', '1']
      : ['--import', 'tsx', 'bench/recoveryPeer.ts', system, url];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.setEncoding('utf8');
  return child;
}

/** Resolves when a peer says it is ready; sluice workers are ready once they are connected. */
function ready(system: System, child: ChildProcess): Promise<void> {
  if (system === 'sluice') return new Promise((done) => setTimeout(done, 2000));
  return new Promise((done, fail) => {
    let seen = '';
    child.stderr?.on('data', (chunk: string) => {
      seen += chunk;
      if (seen.includes('ready')) done();
    });
    child.on('exit', (code) => fail(new Error(`${system} worker exited (${code}): ${seen}`)));
  });
}

async function startedBy(sql: Sql, pid: number, timeoutMs: number): Promise<Date | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [row] = await sql<{ at: Date }[]>`select at from recovery_starts where pid = ${pid}`;
    if (row) return row.at;
    await new Promise((done) => setTimeout(done, 20));
  }
  return undefined;
}

async function enqueue(system: System, url: string): Promise<void> {
  if (system === 'graphile-worker') {
    await quickAddJob({ connectionString: url }, 'slow', {});
  } else if (system === 'pg-boss') {
    const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false });
    await boss.start();
    await boss.send('slow', {});
    await boss.stop({ graceful: false, wait: true });
  } else {
    const detached = spawn(
      process.execPath,
      ['bin/sluice.js', 'run', 'bench/recoveryJob.ts', '--detach'],
      {
        cwd: root,
        env: { ...process.env, DATABASE_URL: url },
        stdio: 'ignore',
      },
    );
    await new Promise((done) => detached.on('exit', done));
  }
}

/** One trial: seconds from the victim's SIGKILL to the rescuer's start, or undefined if it never came. */
async function trial(serverUrl: string, system: System): Promise<number | undefined> {
  const name = `recovery_${randomBytes(4).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
  const children: ChildProcess[] = [];
  try {
    await sql`create table recovery_starts (system text not null, pid int not null,
      at timestamptz not null default clock_timestamp())`;
    await sql`create table recovery_items (id int primary key)`;
    await sql`insert into recovery_items values (1)`;
    const victim = startWorker(system, url.toString());
    children.push(victim);
    await ready(system, victim);
    await enqueue(system, url.toString());
    if (!(await startedBy(sql, victim.pid as number, 60_000))) {
      throw new Error(`${system}: the first worker never started the task`);
    }
    const rescuer = startWorker(system, url.toString());
    children.push(rescuer);
    await ready(system, rescuer);
    await new Promise((done) => setTimeout(done, 1000));
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    const at = await startedBy(sql, rescuer.pid as number, waitMs[system]);
    return at ? (at.getTime() - killedAt) / 1000 : undefined;
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await sql.end();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const server = await openBenchServer();
const results = new Map<System, (number | undefined)[]>(systems.map((s) => [s, []]));
try {
  const rounds = Math.max(reps, peerReps);
  for (let round = 0; round < rounds; round++) {
    for (const system of systems) {
      if (round >= (system === 'sluice' ? reps : peerReps)) continue;
      const seconds = await trial(server.url, system);
      results.get(system)?.push(seconds);
      log(
        `round ${round + 1} ${system}: ${seconds === undefined ? `not recovered within ${waitMs[system] / 1000} s` : `${seconds.toFixed(2)} s`}`,
      );
    }
  }
} finally {
  await server.close();
}

const sluiceMedian = median(
  (results.get('sluice') ?? []).filter((x): x is number => x !== undefined),
);
console.log('| system | trials | median s | max s | × sluice | what decides it (defaults) |');
console.log('|---|---:|---:|---:|---:|---|');
for (const system of systems) {
  const all = results.get(system) ?? [];
  const got = all.filter((x): x is number => x !== undefined);
  const missed = all.length - got.length;
  const med = missed > all.length / 2 ? undefined : median(got);
  const max = missed > 0 ? undefined : Math.max(...got);
  const bound = `> ${waitMs[system] / 1000}`;
  const medText = med === undefined ? bound : med.toFixed(2);
  const maxText = max === undefined ? bound : max.toFixed(2);
  const ratio =
    med === undefined
      ? `> ${(waitMs[system] / 1000 / sluiceMedian).toFixed(0)}`
      : (med / sluiceMedian).toFixed(1);
  console.log(
    `| ${system} | ${all.length} | ${medText} | ${maxText} | ${ratio} | ${mechanism[system]} |`,
  );
}
const sluiceMax = Math.max(
  ...(results.get('sluice') ?? []).map((x) => x ?? Number.POSITIVE_INFINITY),
);
console.log(
  `\nsluice recovery: median ${sluiceMedian.toFixed(2)} s, max ${sluiceMax.toFixed(2)} s (target <= 5 s: ${sluiceMax <= 5 ? 'met' : 'MISSED'})`,
);
