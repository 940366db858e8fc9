// Two real `sluice run` processes share one job and its global rate limit; a peer answers one
// request with 429 and Retry-After: 1 once both are sending. Each request carries when its
// process started it (a header, on this machine's clock, which is the database server's too), so
// the peer's record says how long after the pause was written to the store each process went on.
// Used by test/limit/pauseAcrossProcesses.test.ts (facts) and bench/pauseLatency.ts (latency).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
const job = fileURLToPath(new URL('../../test/limit/fixtures/pacedCallsJob.ts', import.meta.url));

export interface Call {
  pid: number;
  startedAt: number;
  status: number;
}

export interface PauseRun {
  /** Each process's exit code and stderr. */
  exits: { code: number | null; stderr: string }[];
  calls: Call[];
  /** From sluice.rate_limits: when the pause was written, and until when it holds (epoch ms). */
  pausedAt: number;
  pausedUntil: number;
  /** Per process, the latest start before the pause ended, in ms after the pause was written. */
  lastAfterPause: number[];
}

/** Runs the scenario once at `rate`/s on `executor`, against the database at `url`. */
export async function runPauseScenario(
  url: string,
  name: string,
  rate: number,
  executor: string,
): Promise<PauseRun> {
  const calls: Call[] = [];
  const pids = new Set<number>();
  let throttled = false;
  // Answers wait until both processes have called: on a busy machine the second one may start
  // so late that the first would otherwise finish every item alone, and no 429 would be sent
  // (each process takes half of the cap of 8, so the second can claim while the first waits).
  let waiting: (() => void)[] = [];
  const server = createServer((req, res) => {
    const pid = Number(req.headers['x-pid']);
    const startedAt = Number(req.headers['x-started-at']);
    pids.add(pid);
    const answer = () => {
      const throttle = !throttled && calls.length >= rate * 0.75;
      throttled ||= throttle;
      const status = throttle ? 429 : 200;
      calls.push({ pid, startedAt, status });
      res.writeHead(status, throttle ? { 'retry-after': '1' } : {}).end('ok');
    };
    if (pids.size < 2) return void waiting.push(answer);
    for (const held of waiting) held();
    waiting = [];
    answer();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  try {
    const { port } = server.address() as AddressInfo;
    const env = {
      ...process.env,
      DATABASE_URL: undefined,
      JOB_NAME: name,
      PEER_URL: `http://127.0.0.1:${port}`,
      RATE: String(rate),
      ITEMS: String(rate * 2),
      CHUNK: String(Math.max(5, rate / 40)),
      CAP: '8',
    };
    // Each process takes half the cap, so the one that starts first cannot hold every slot while
    // its calls wait for the other.
    const args = [bin, 'run', job, '--database-url', url, '--executor', executor, '--json'];
    args.push('--concurrency', '4');
    const exits = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<{ code: number | null; stderr: string }>((done) => {
            const child = spawn(process.execPath, args, {
              env,
              stdio: ['ignore', 'ignore', 'pipe'],
            });
            let stderr = '';
            child.stderr.on('data', (chunk) => {
              stderr += chunk;
            });
            child.on('close', (code) => done({ code, stderr }));
          }),
      ),
    );
    const { pausedAt, pausedUntil } = await pauseRow(url, name);
    const lastAfterPause = [...pids].map((pid) =>
      Math.max(
        ...calls
          .filter((call) => call.pid === pid && call.startedAt < pausedUntil - 2)
          .map((call) => call.startedAt - pausedAt),
      ),
    );
    return { exits, calls, pausedAt, pausedUntil, lastAfterPause };
  } finally {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
}

async function pauseRow(url: string, name: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ pausedAt: number; pausedUntil: number }[]>`
      select r.paused_at_ms as "pausedAt", r.paused_until_ms as "pausedUntil"
      from sluice.rate_limits r join sluice.jobs j on j.id = r.job_id where j.name = ${name}`;
    if (!row) throw new Error(`no pause recorded for ${name}`);
    return row;
  } finally {
    await sql.end();
  }
}
