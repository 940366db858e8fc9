import Bottleneck from 'bottleneck';
import PQueue from 'p-queue';
import postgres, { type Sql } from 'postgres';
import { createGlobalRateLimiter } from '../src/limit/globalRateLimiter.ts';
import { createRateLimiter } from '../src/limit/rateLimiter.ts';
import { epochNow } from '../src/limit/reserve.ts';
import { migrate } from '../src/store/migrate.ts';
import { openBenchServer } from './server.ts';

const targets = [100, 1000, 5000];
const seconds = Number(process.env.BENCH_LIMITER_SECONDS ?? 4);
const workers = 64;
const saturatedPermits = 100_000;
const saturatedMaxMs = 10_000; // Bottleneck manages ~400 jobs/s here; don't wait minutes for it
const log = (line: string) => process.stderr.write(`${line}\n`);

/** One limiter under test: `take` resolves once `use` has run inside the permit. */
interface Subject {
  take(use: () => void): Promise<void>;
  stop(): Promise<void>;
}
/** `released` is told the time of each permit where the limiter decides it, if that is not `use`. */
type Make = (rate: number, released?: (at: number) => void) => Subject;

function subjects(sql: Sql, jobId: string): Record<string, Make> {
  let runs = 0;
  const sluice = (limiter: ReturnType<typeof createRateLimiter>): Subject => ({
    take: async (use) => {
      await limiter.acquire();
      use();
    },
    stop: async () => limiter.close(),
  });
  return {
    'sluice (local)': (rate, released) =>
      sluice(createRateLimiter({ perSecond: rate }, { onRelease: released })),
    'sluice (global, PostgreSQL)': (rate, released) =>
      sluice(
        createGlobalRateLimiter(sql, {
          jobId,
          name: `bench-${runs++}`,
          rateLimit: { perSecond: rate },
          onRelease: released,
        }),
      ),
    Bottleneck: (rate) => {
      const limiter = new Bottleneck({
        minTime: 1000 / rate,
        reservoir: rate,
        reservoirRefreshAmount: rate,
        reservoirRefreshInterval: 1000,
      });
      return {
        take: (use) => limiter.schedule(async () => use()),
        stop: () => limiter.stop({ dropWaitingJobs: true }).catch(() => undefined),
      };
    },
    'p-queue': (rate) => queue(new PQueue({ intervalCap: rate, interval: 1000 })),
    'p-queue strict': (rate) =>
      queue(new PQueue({ intervalCap: rate, interval: 1000, strict: true })),
  };
}

function queue(q: PQueue): Subject {
  return {
    take: (use) => q.add(() => use()),
    stop: async () => q.clear(),
  };
}

/** The most permits in any half-open window [t, t + 1 s). */
function worstWindow(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let worst = 0;
  let tail = 0;
  for (let i = 0; i < sorted.length; i++) {
    while ((sorted[tail] as number) <= (sorted[i] as number) - 1000) tail++;
    worst = Math.max(worst, i - tail + 1);
  }
  return worst;
}

/** Keeps `workers` callers taking permits until `until()` says stop; returns each permit's time. */
async function drive(subject: Subject, until: (count: number) => boolean) {
  const used: number[] = [];
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!until(used.length)) await subject.take(() => used.push(epochNow()));
    }),
  );
  const spent = process.cpuUsage(cpu);
  await subject.stop();
  return { used, cpuMs: (spent.user + spent.system) / 1000 };
}

interface Row {
  rate: number;
  name: string;
  achieved: number;
  worst: number;
  /** sluice only: the worst window as the caller's code reads the clock after `await`. */
  worstAfterAwait?: number;
  cpuUsPerPermit: number;
}

async function paced(make: Make, rate: number, name: string, ms = seconds * 1000): Promise<Row> {
  const released: number[] = [];
  const subject = make(rate, (at) => released.push(at));
  const end = epochNow() + ms;
  const { used, cpuMs } = await drive(subject, () => epochNow() >= end);
  const times = released.length > 0 ? released : used;
  const first = Math.min(...times);
  const counted = times.filter((at) => at < first + ms).length;
  return {
    rate,
    name,
    achieved: counted / (ms / 1000),
    worst: worstWindow(times),
    worstAfterAwait: released.length > 0 ? worstWindow(used) : undefined,
    cpuUsPerPermit: (cpuMs * 1000) / times.length,
  };
}

/** CPU per permit when the rate is far above what the machine can do: the limiter's own cost. */
async function saturated(make: Make | undefined): Promise<number> {
  const subject: Subject = make?.(1e9) ?? { take: async (use) => use(), stop: async () => {} };
  const end = epochNow() + saturatedMaxMs;
  const { used, cpuMs } = await drive(
    subject,
    (count) => count >= saturatedPermits || epochNow() >= end,
  );
  return (cpuMs * 1000) / used.length;
}

function report(rows: Row[], overhead: Map<string, number>): string {
  const over = (worst: number, cap: number) => `${worst}${worst > cap ? ' (OVER)' : ''}`;
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)} %`;
  const lines = [
    '| target/s | limiter | achieved/s | vs target | worst 1-s window | after `await` | CPU µs/permit |',
    '|---:|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.rate} | ${r.name} | ${r.achieved.toFixed(1)} | ${pct(r.achieved / r.rate - 1)} | ` +
        `${over(r.worst, r.rate)} | ${r.worstAfterAwait === undefined ? '–' : over(r.worstAfterAwait, r.rate)} | ` +
        `${r.cpuUsPerPermit.toFixed(1)} |`,
    ),
    '',
    `| limiter | CPU µs/permit, up to ${saturatedPermits.toLocaleString('en')} permits unthrottled |`,
    '|---|---:|',
    ...[...overhead].map(([name, us]) => `| ${name} | ${us.toFixed(2)} |`),
    '',
  ];
  const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const bottleneck = overhead.get('Bottleneck') ?? Number.NaN;
  for (const name of ['sluice (local)', 'sluice (global, PostgreSQL)']) {
    const mine = rows.filter((r) => r.name === name);
    const accurate = mine.every((r) => Math.abs(r.achieved / r.rate - 1) <= 0.02);
    const capped = mine.every((r) => r.worst <= r.rate);
    const cheap = (overhead.get(name) ?? Number.POSITIVE_INFINITY) <= bottleneck;
    lines.push(
      `${name}: achieved within ±2 %: ${mark(accurate)}; no window over the cap: ${mark(capped)}; ` +
        `overhead ≤ Bottleneck's: ${mark(cheap)}`,
    );
  }
  return lines.join('\n');
}

async function main() {
  const server = await openBenchServer();
  process.once('SIGINT', () => void server.close().finally(() => process.exit(130)));
  const sql = postgres(server.url, { max: 2, onnotice: () => {} });
  let jobId: string | undefined;
  try {
    await migrate(sql);
    const [job] = await sql<{ id: string }[]>`
      insert into sluice.jobs (name, status, source, fingerprint, max_parallelism, max_attempts)
      values (${`bench-limiter-${process.pid}-${Date.now()}`}, 'running', 'bench', '-', 1, 1)
      returning id::text`;
    jobId = (job as { id: string }).id;
    const all = subjects(sql, jobId);
    // Untimed warm-up: compiles each limiter's code paths (and opens the pool) before any is timed.
    for (const make of Object.values(all)) await paced(make, 1000, 'warm-up', 300);
    const rows: Row[] = [];
    for (const rate of targets) {
      for (const [name, make] of Object.entries(all)) {
        const row = await paced(make, rate, name);
        log(`${rate}/s ${name}: ${row.achieved.toFixed(1)}/s, worst ${row.worst}`);
        rows.push(row);
      }
    }
    const overhead = new Map<string, number>([
      ['(harness only, no limiter)', await saturated(undefined)],
    ]);
    for (const [name, make] of Object.entries(all)) overhead.set(name, await saturated(make));
    console.log(report(rows, overhead));
  } finally {
    if (jobId) await sql`delete from sluice.jobs where id = ${jobId}`.catch(() => {});
    await sql.end();
    await server.close();
  }
}

await main();
