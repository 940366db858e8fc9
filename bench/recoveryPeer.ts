// A graphile-worker or pg-boss worker process for the crash-recovery benchmark: one task that
// records its start and then runs for an hour.
//   node --import tsx bench/recoveryPeer.ts graphile-worker|pg-boss default|tuned <database-url>
// `default` is each library's default settings; `tuned` is what its docs offer for fast recovery.
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from 'graphile-worker';
import PgBoss from 'pg-boss';
import postgres from 'postgres';

const [system, settings, url] = process.argv.slice(2) as [string, string, string];
if (settings !== 'default' && settings !== 'tuned') throw new Error(`unknown settings ${settings}`);
const tuned = settings === 'tuned';
const sql = postgres(url, { max: 1, onnotice: () => {} });
const task = async () => {
  await sql`insert into recovery_starts (system, pid) values (${system}, ${process.pid})`;
  await sleep(3_600_000);
};

/**
 * pg-boss tuned: an active job expires 3 s after it starts (pg-boss has no heartbeat, so this also
 * expires a healthy job that runs longer), it is retried at once, the expiry is checked every
 * second and idle workers poll every 0.5 s (the smallest interval pg-boss accepts).
 */
const pgBossTuned = {
  expireInSeconds: 3,
  retryDelay: 0,
  retryLimit: 2,
  maintenanceIntervalSeconds: 1,
  pollingIntervalSeconds: 0.5,
};

if (system === 'graphile-worker') {
  // Defaults: pollInterval 2 s, LISTEN/NOTIFY for new jobs, a crashed worker's lock is reset after
  // 4 h, looked for every 8–10 min. Tuned: look every 1 s and poll every 0.5 s; the 4 h is a
  // constant in 0.17's SQL (configurable only in the paid Worker Pro plugin), so tuning cannot
  // shorten it.
  const interval = tuned
    ? { pollInterval: 500, minResetLockedInterval: 1000, maxResetLockedInterval: 1000 }
    : {};
  await run({ connectionString: url, concurrency: 1, taskList: { slow: task }, ...interval });
} else if (system === 'pg-boss') {
  // Defaults: pollingIntervalSeconds 2, expireIn 15 min, retryLimit 2, maintenance every 2 min.
  const boss = new PgBoss({ connectionString: url, ...(tuned ? pgBossTuned : {}) });
  boss.on('error', (error) => process.stderr.write(`pg-boss: ${error.message}\n`));
  await boss.start();
  // The queue carries the expiry, so a job sent by another PgBoss instance gets it too.
  const { expireInSeconds, retryDelay, retryLimit, pollingIntervalSeconds } = pgBossTuned;
  await boss.createQueue(
    'slow',
    tuned ? { name: 'slow', expireInSeconds, retryDelay, retryLimit } : undefined,
  );
  await boss.work('slow', tuned ? { pollingIntervalSeconds } : {}, task);
} else {
  throw new Error(`unknown system ${system}`);
}
process.stderr.write('ready\n');
