import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { finished, spawnSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

// Two real `sluice run` processes share one job and its global rate limit. The peer answers one
// request with 429 and Retry-After: 1 once both processes are sending. From the moment the pause
// row is written (read back from the store), no process may start a request more than 10 ms
// later until the pause ends. The start times come from the processes themselves (a header), on
// this machine's clock, which is the database server's clock too.

const db = useTestDatabase({ max: 2 });
const job = 'test/limit/fixtures/pacedCallsJob.ts';
const slackMs = 10;

interface Call {
  pid: number;
  startedAt: number;
  status: number;
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((done) => server?.close(done) ?? done(undefined));
  server = undefined;
});

/** A peer that records every call and answers one with 429 once both processes have called. */
async function startPeer(throttleAfter: number) {
  const calls: Call[] = [];
  const pids = new Set<number>();
  let throttled = false;
  server = createServer((req, res) => {
    const pid = Number(req.headers['x-pid']);
    const startedAt = Number(req.headers['x-started-at']);
    pids.add(pid);
    const throttle = !throttled && pids.size === 2 && calls.length >= throttleAfter;
    throttled ||= throttle;
    const status = throttle ? 429 : 200;
    calls.push({ pid, startedAt, status });
    res.writeHead(status, throttle ? { 'retry-after': '1' } : {}).end('ok');
  });
  await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls };
}

async function pauseRow(name: string) {
  const [row] = await db.sql<{ pausedAt: number | null; pausedUntil: number | null }[]>`
    select r.paused_at_ms as "pausedAt", r.paused_until_ms as "pausedUntil"
    from sluice.rate_limits r join sluice.jobs j on j.id = r.job_id where j.name = ${name}`;
  return row;
}

// Thread workers take each permit from their coordinator, so its hold covers them too.
const cases = [
  { rate: 40, executor: 'async' },
  { rate: 400, executor: 'async' },
  { rate: 400, executor: 'thread:2' },
];

for (const { rate, executor } of cases) {
  test(`at ${rate}/s (${executor}), a 429 holds both processes within ${slackMs} ms of the pause reaching the store`, async () => {
    const name = `pause-across-${rate}-${executor.replace(':', '-')}`;
    const peer = await startPeer(rate * 0.75);
    const env = {
      JOB_NAME: name,
      PEER_URL: peer.url,
      RATE: String(rate),
      ITEMS: String(rate * 2),
      CHUNK: String(Math.max(5, rate / 40)),
      CAP: '8',
    };
    const runs = [0, 1].map(() =>
      finished(
        spawnSluice(['run', job, '--database-url', db.url, '--executor', executor, '--json'], env),
      ),
    );
    for (const result of await Promise.all(runs)) expect(result.code, result.stderr).toBe(0);

    const row = await pauseRow(name);
    const pausedAt = row?.pausedAt as number;
    const pausedUntil = row?.pausedUntil as number;
    expect(pausedUntil - pausedAt).toBeGreaterThan(900);
    const throttle = peer.calls.find((call) => call.status === 429) as Call;
    expect(throttle.startedAt).toBeLessThan(pausedAt);
    const pids = [...new Set(peer.calls.map((call) => call.pid))];
    expect(pids).toHaveLength(2);

    // The pause's own clock conversion is good to ~1 ms, so the first calls after it may start
    // that much before paused_until_ms.
    const during = peer.calls.filter(
      (call) => call.startedAt > pausedAt + slackMs && call.startedAt < pausedUntil - 2,
    );
    const lastBefore = pids.map((pid) =>
      Math.max(
        ...peer.calls
          .filter((call) => call.pid === pid && call.startedAt < pausedUntil - 2)
          .map((call) => call.startedAt - pausedAt),
      ),
    );
    console.log(
      `${rate}/s ${executor}: last request started ${lastBefore.map((ms) => ms.toFixed(1)).join(' and ')} ms ` +
        `after the pause was written; ${peer.calls.length} calls`,
    );
    expect(during).toEqual([]);
    // Both went on after the pause, and every item ran.
    for (const pid of pids) {
      expect(peer.calls.some((call) => call.pid === pid && call.startedAt >= pausedUntil - 2)).toBe(
        true,
      );
    }
    const ok = peer.calls.filter((call) => call.status === 200).length;
    expect(ok).toBe(rate * 2);
  });
}
