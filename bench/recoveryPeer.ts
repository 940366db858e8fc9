// A graphile-worker or pg-boss worker process for the crash-recovery benchmark, with each
// library's default settings: one task that records its start and then runs for an hour.
//   node --import tsx bench/recoveryPeer.ts graphile-worker|pg-boss <database-url>
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from 'graphile-worker';
import PgBoss from 'pg-boss';
import postgres from 'postgres';

const [system, url] = process.argv.slice(2) as [string, string];
const sql = postgres(url, { max: 1, onnotice: () => {} });
const task = async () => {
  await sql`insert into recovery_starts (system, pid) values (${system}, ${process.pid})`;
  await sleep(3_600_000);
};

if (system === 'graphile-worker') {
  // Defaults: pollInterval 2 s, LISTEN/NOTIFY for new jobs, a crashed worker's lock expires after 4 h.
  await run({ connectionString: url, concurrency: 1, taskList: { slow: task } });
} else if (system === 'pg-boss') {
  // Defaults: pollingIntervalSeconds 2, expireIn 15 min, retryLimit 2, maintenance every 2 min.
  const boss = new PgBoss(url);
  boss.on('error', (error) => process.stderr.write(`pg-boss: ${error.message}\n`));
  await boss.start();
  await boss.createQueue('slow');
  await boss.work('slow', task);
} else {
  throw new Error(`unknown system ${system}`);
}
process.stderr.write('ready\n');
