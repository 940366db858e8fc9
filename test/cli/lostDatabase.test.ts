// The database goes away mid-run: the run reaches PostgreSQL through a TCP relay that the test
// cuts. sluice ends with one line and exit 1, and a rerun against the database resumes the job.
import { createServer, connect as dial, type Socket } from 'node:net';
import { expect, test } from 'vitest';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });

/** A relay to the test database on a port of its own, which `cut()` closes for good. */
async function startRelay(target: URL) {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = dial(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as { port: number };
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    cut: async () => {
      const closed = new Promise((done) => server.close(done));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Finished chunks of the job; 0 until the run has created sluice's schema. */
async function doneChunks(): Promise<number> {
  const [exists] = await db.sql`select to_regclass('sluice.tasks') is not null as ok`;
  if (!exists?.ok) return 0;
  const [row] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = 'lost' and t.status = 'done'`;
  return row?.n ?? 0;
}

test('a database lost mid-run ends the run with one line and exit 1; a rerun resumes', async () => {
  const relay = await startRelay(new URL(db.url));
  // A chunk cut off mid-run is reclaimed on the rerun, which costs it an attempt.
  const env = { JOB_NAME: 'lost', ITEMS: '400', SLEEP_MS: '100', CAP: '2', ATTEMPTS: '3' };
  const child = spawnSluice(['run', 'test/fixtures/alertJob.ts', '--database-url', relay.url], env);
  const run = finished(child);
  await waitFor(async () => (await doneChunks()) >= 2);
  await relay.cut();
  const result = await run;
  expect(result.code, result.stderr).toBe(1);
  const lines = result.stderr.split('\n').filter((line) => line.startsWith('sluice:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(
    /^sluice: lost the connection to the database(: .+)?; run the same command again to resume$/,
  );
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);

  const before = await doneChunks();
  expect(before).toBeLessThan(40);
  const rerun = await runSluice(['run', 'test/fixtures/alertJob.ts', '--database-url', db.url], {
    ...env,
    SLEEP_MS: '0',
  });
  expect(rerun.code, rerun.stderr).toBe(0);
  expect(rerun.stdout).toContain('Batch complete: 400/400 items, 0 failed (0.0%)');
  expect(await doneChunks()).toBe(40);
}, 60_000);
