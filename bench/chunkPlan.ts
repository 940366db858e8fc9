// Planning `chunks(file, 1000)` over files of user ids: time, and peak RSS, which must stay flat as
// the file grows (issue 3). Each plan runs in a child process of its own (bench/chunkPlanRun.ts).
//
//   npm run bench:plan                                fresh embedded server, 1M and 10M lines
//   BENCH_PLAN_LINES=100000,1000000 npm run bench:plan a quick check
//   BENCH_DATABASE_URL=postgres://... npm run bench:plan
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import postgres, { type Sql } from 'postgres';
import { openBenchServer } from './server.ts';

interface Case {
  lines: number;
  gzip: boolean;
  file: string;
}
interface Run {
  ms: number;
  rssBeforeMb: number;
  rssMb: number;
}

const repetitions = 3;
const rssTarget = 1.1;
const exec = promisify(execFile);
const runFile = fileURLToPath(new URL('./chunkPlanRun.ts', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);
const label = (n: number) => (n % 1e6 === 0 ? `${n / 1e6}M` : `${n / 1e3}k`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? NaN;

/** One user id a line, written in blocks of 10,000 lines. */
async function writeIds(file: string, lines: number): Promise<void> {
  async function* blocks() {
    for (let start = 0; start < lines; start += 10_000) {
      let block = '';
      for (let i = start; i < Math.min(start + 10_000, lines); i++) block += `user-${i + 1}\n`;
      yield block;
    }
  }
  await pipeline(Readable.from(blocks()), createWriteStream(file));
}

/** Plans the file in a child process, checks the stored plan, and deletes the job. */
async function measure(sql: Sql, url: string, c: Case, rep: number): Promise<Run> {
  const name = `bench-plan-${label(c.lines)}${c.gzip ? '-gz' : ''}-${rep}`;
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', runFile, c.file, name], {
    env: { ...process.env, BENCH_URL: url },
  });
  const run = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Run;
  const [row] = await sql<{ tasks: number; items: number; stored: number; storedItems: number }[]>`
    select total_tasks as tasks, total_items::float8 as items,
      (select count(*) from sluice.tasks t where t.job_id = j.id)::float8 as stored,
      (select sum(items) from sluice.tasks t where t.job_id = j.id)::float8 as "storedItems"
    from sluice.jobs j where name = ${name}`;
  const want = { tasks: c.lines / 1000, items: c.lines, stored: c.lines / 1000 };
  const got = row && { tasks: row.tasks, items: row.items, stored: row.stored };
  if (JSON.stringify(got) !== JSON.stringify(want) || row?.storedItems !== c.lines) {
    throw new Error(`${name}: planned ${JSON.stringify(row)}, expected ${JSON.stringify(want)}`);
  }
  await sql`delete from sluice.jobs where name = ${name}`;
  return run;
}

async function main() {
  const sizes = (process.env.BENCH_PLAN_LINES ?? '1000000,10000000').split(',').map(Number);
  if (sizes.some((n) => !Number.isSafeInteger(n) || n < 1000 || n % 1000 !== 0)) {
    throw new Error(`Expected BENCH_PLAN_LINES to be multiples of 1000, got \`${sizes}\``);
  }
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-plan-'));
  const server = await openBenchServer();
  // pg_ctl runs the embedded server in its own session: Ctrl-C must stop it, or it outlives us.
  process.once('SIGINT', () => void server.close().finally(() => process.exit(130)));
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    const cases: Case[] = sizes.map((lines) => ({
      lines,
      gzip: false,
      file: join(dir, `${lines}.txt`),
    }));
    for (const c of cases) await writeIds(c.file, c.lines);
    const largest = cases.at(-1) as Case;
    const gz: Case = { ...largest, gzip: true, file: `${largest.file}.gz` };
    await pipeline(createReadStream(largest.file), createGzip(), createWriteStream(gz.file));
    cases.push(gz);
    log(`files ready in ${dir}`);
    const runs = new Map<Case, Run[]>(cases.map((c) => [c, []]));
    for (let rep = 0; rep < repetitions; rep++) {
      // Rotating the order puts each file first, middle and last once.
      const order = [...cases.slice(rep % cases.length), ...cases.slice(0, rep % cases.length)];
      for (const c of order) {
        const run = await measure(sql, server.url, c, rep);
        runs.get(c)?.push(run);
        log(
          `  ${label(c.lines)}${c.gzip ? '.gz' : ''} #${rep + 1}: ${(run.ms / 1000).toFixed(1)}s, ${run.rssMb.toFixed(0)} MB`,
        );
      }
    }
    const rows = cases.map((c) => {
      const rs = runs.get(c) ?? [];
      const seconds = median(rs.map((r) => r.ms)) / 1000;
      const before = Math.max(...rs.map((r) => r.rssBeforeMb));
      return { ...c, seconds, before, peak: Math.max(...rs.map((r) => r.rssMb)) };
    });
    const lines = [
      '| lines | gzip | plan s (median) | lines/s | RSS before plan MB | peak RSS MB |',
      '|---:|---|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${label(r.lines)} | ${r.gzip ? 'yes' : 'no'} | ${r.seconds.toFixed(2)} | ${Math.round(r.lines / r.seconds).toLocaleString('en-US')} | ${r.before.toFixed(0)} | ${r.peak.toFixed(0)} |`,
      ),
      '',
    ];
    const small = rows[0] as (typeof rows)[number];
    for (const r of rows.slice(1)) {
      const ratio = r.peak / small.peak;
      const name = `${label(r.lines)}${r.gzip ? '.gz' : ''}`;
      lines.push(
        `peak RSS ${name} / ${label(small.lines)}: ${ratio.toFixed(2)} (target ≤ ${rssTarget}: ${ratio <= rssTarget ? 'met' : 'MISSED'})`,
      );
    }
    console.log(lines.join('\n'));
  } finally {
    await sql`delete from sluice.jobs where name like 'bench-plan-%'`.catch(() => {});
    await sql.end();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
