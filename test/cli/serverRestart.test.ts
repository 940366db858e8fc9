// PostgreSQL restarts under a running job: a `sluice run` and a `sluice worker` on the job wait
// for the server (--reconnect-for, default 60 s), resume, and finish the job exactly, each item
// once. The server is one of this file's own: the test run's shared server must stay up.
import postgres from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { finished, spawnSluice, waitFor } from '../support/cli.ts';
import { type RestartableServer, startRestartableServer } from '../support/restartableServer.ts';

let server: RestartableServer;
beforeAll(async () => {
  server = await startRestartableServer();
});
afterAll(async () => {
  await server?.close();
});

/** Processes holding a running task of the job: both must be at work when the server stops. */
async function working(sql: postgres.Sql): Promise<number> {
  const [exists] = await sql`select to_regclass('sluice.tasks') is not null as ok`;
  if (!exists?.ok) return 0;
  const [row] = await sql<{ n: number }[]>`
    select count(distinct owner)::int as n from sluice.tasks where status = 'running'`;
  return row?.n ?? 0;
}

/** Reads the job's tasks through a pool of its own, which reconnects after the restart. */
async function doneChunks(sql: postgres.Sql): Promise<number> {
  const [exists] = await sql`select to_regclass('sluice.tasks') is not null as ok`;
  if (!exists?.ok) return 0;
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from sluice.tasks where status = 'done'`;
  return row?.n ?? 0;
}

test('a run and a worker outlast a PostgreSQL restart and finish every item once', async () => {
  const env = {
    ...{ JOB_NAME: 'restarted', ITEMS: '1200', SLEEP_MS: '100', CAP: '4', ATTEMPTS: '3' },
    // Where a stray driver error came from, should one occur: in stderr, which a failure shows.
    SLUICE_DEBUG: '1',
  };
  const args = ['test/fixtures/alertJob.ts', '--database-url', server.url];
  // The worker first, so that on a loaded machine it is up before the run could finish alone.
  const workerChild = spawnSluice(
    ['worker', ...args, '--concurrency', '2', '--exit-when-done'],
    env,
  );
  let workerSaid = '';
  workerChild.stderr?.on('data', (chunk) => {
    workerSaid += chunk;
  });
  const worker = finished(workerChild);
  await waitFor(async () => workerSaid.includes('Waiting for job restarted'), 60_000);
  const run = finished(spawnSluice(['run', ...args, '--concurrency', '2'], env));
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    await waitFor(async () => (await working(sql)) >= 2 && (await doneChunks(sql)) >= 4, 60_000);
    await server.restart(1000);
    const [ran, worked] = await Promise.all([run, worker]);
    // Each process was running tasks when the server stopped, and waited for it.
    for (const result of [ran, worked]) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/Lost the connection to the database \(.+\); reconnecting/);
      expect(result.stderr).toMatch(/Reconnected after \d+\.\ds; resuming/);
      expect(result.stderr).not.toMatch(/^sluice:|Warning/m);
    }
    expect(ran.stdout).toContain('Batch complete: 1200/1200 items, 0 failed (0.0%)');
    expect(await doneChunks(sql)).toBe(120);
    const [outcomes] = await sql<{ n: number; items: number }[]>`
      select count(*)::int as n, count(distinct item)::int as items
      from sluice.outcomes where ok and not superseded`;
    expect(outcomes).toEqual({ n: 1200, items: 1200 });
  } finally {
    await sql.end({ timeout: 1 });
  }
}, 90_000);
