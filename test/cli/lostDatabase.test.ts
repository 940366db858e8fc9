// The database goes away mid-run: the run reaches PostgreSQL through a TCP relay that the test
// cuts, as a server restart or a failover would. Within --reconnect-for the run waits for it and
// finishes the job exactly; past it (or with 0) it ends with one line and exit 1, and a rerun
// resumes the job.
import { createServer, connect as dial, type Socket } from 'node:net';
import { expect, test } from 'vitest';
import { type CliResult, finished, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });

/**
 * A relay to the test database on a port of its own. `cut()` closes it and every connection
 * through it; `restore()` listens again on the same port.
 */
async function startRelay(target: URL) {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = dial(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) =>
    new Promise<void>((listening) => server.listen(port, '127.0.0.1', listening));
  await listen(0);
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
    restore: () => listen(port),
  };
}

/** Finished chunks of a job; 0 until the run has created sluice's schema. */
async function doneChunks(job: string): Promise<number> {
  const [exists] = await db.sql`select to_regclass('sluice.tasks') is not null as ok`;
  if (!exists?.ok) return 0;
  const [row] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = ${job} and t.status = 'done'`;
  return row?.n ?? 0;
}

/** A child's result, or, if it runs past `ms`, an error that shows what it printed so far. */
async function settles(child: ReturnType<typeof spawnSluice>, ms: number, what: string) {
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const result: CliResult = await finished(child).finally(() => clearTimeout(timer));
  if (result.signal === 'SIGKILL')
    throw new Error(`${what} ran past ${ms} ms; it printed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

const alertJob = 'test/fixtures/alertJob.ts';
// A chunk cut off mid-run is redone, which costs it an attempt.
const env = (job: string) => ({
  JOB_NAME: job,
  ITEMS: '400',
  SLEEP_MS: '100',
  CAP: '2',
  ATTEMPTS: '3',
});

/** Starts the job through a relay and cuts the relay once two chunks are done. */
async function runAndCut(job: string, flags: string[]) {
  const relay = await startRelay(new URL(db.url));
  const child = spawnSluice(['run', alertJob, '--database-url', relay.url, ...flags], env(job));
  const result = settles(child, 45_000, `the run of ${job}`);
  await waitFor(async () => (await doneChunks(job)) >= 2);
  await relay.cut();
  return { relay, result };
}

const lostLine =
  /^sluice: lost the connection to the database(: .+)?; run the same command again to resume$/;

test('a database back within --reconnect-for: the run waits, resumes, and finishes every item once', async () => {
  const { relay, result } = await runAndCut('back', ['--reconnect-for', '60']);
  await new Promise((done) => setTimeout(done, 1500));
  await relay.restore();
  const run = await result;
  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).toMatch(
    /Lost the connection to the database \(.+\); reconnecting for up to 1m00s/,
  );
  expect(run.stderr).toMatch(/Reconnected after \d+\.\ds; resuming/);
  expect(run.stderr).not.toMatch(/^sluice:|Warning/m);
  expect(run.stdout).toContain('Batch complete: 400/400 items, 0 failed (0.0%)');
  expect(await doneChunks('back')).toBe(40);
  const [outcomes] = await db.sql<{ n: number; keys: number }[]>`
    select count(*)::int as n, count(distinct o.item)::int as keys
    from sluice.outcomes o join sluice.jobs j on j.id = o.job_id
    where j.name = 'back' and o.ok and not o.superseded`;
  expect(outcomes).toEqual({ n: 400, keys: 400 });
}, 60_000);

test('a database gone longer than --reconnect-for ends the run with one line and exit 1', async () => {
  const { result } = await runAndCut('gone', ['--reconnect-for', '2']);
  const run = await result;
  expect(run.code, run.stderr).toBe(1);
  expect(run.stderr).toMatch(/reconnecting for up to 2s/);
  const lines = run.stderr.split('\n').filter((line) => line.startsWith('sluice:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(lostLine);
}, 60_000);

test('with --reconnect-for 0, a lost database ends the run at once; a rerun resumes', async () => {
  const { result } = await runAndCut('lost', ['--reconnect-for', '0']);
  const run = await result;
  expect(run.code, run.stderr).toBe(1);
  const lines = run.stderr.split('\n').filter((line) => line.startsWith('sluice:'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(lostLine);
  expect(run.stderr).not.toMatch(/internal error|\n\s+at |reconnecting|Warning/);

  expect(await doneChunks('lost')).toBeLessThan(40);
  const again = spawnSluice(['run', alertJob, '--database-url', db.url], {
    ...env('lost'),
    SLEEP_MS: '0',
  });
  const rerun = await settles(again, 30_000, 'the rerun');
  expect(rerun.code, rerun.stderr).toBe(0);
  expect(rerun.stdout).toContain('Batch complete: 400/400 items, 0 failed (0.0%)');
  expect(await doneChunks('lost')).toBe(40);
}, 60_000);
