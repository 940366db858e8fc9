// Upsert throughput next to raw COPY, the physical limit for loading, at batch sizes 1,000 /
// 5,000 / 20,000, for fresh inserts and for all-conflict updates.
//
//   npm run bench:upsert            fresh embedded server, 200,000 rows (BENCH_ROWS, BENCH_REPS)
//
// A COPY-into-a-temp-table-then-merge path was measured here too and lost on postgres.js's default
// socket (bench/RESULTS.md, "Upsert"); its code and this bench's version of it are at commit db5d8a8.
//
// The table has every type the sink must carry: bigint key, timestamptz, numeric(12,2), jsonb,
// text[] and a nullable text. Each variant runs BENCH_REPS (3) times on a fresh table; medians.
import { once } from 'node:events';
import postgres, { type Sql } from 'postgres';
import { upsert } from '../src/sink/upsert.ts';
import { openBenchServer } from './server.ts';

const total = Number(process.env.BENCH_ROWS ?? 200_000);
const reps = Number(process.env.BENCH_REPS ?? 3);
const batchSizes = [1000, 5000, 20_000];

type Row = {
  id: bigint;
  at: Date;
  amount: string | null;
  doc: unknown;
  tags: string[] | null;
  note: string | null;
};

function makeRows(n: number, version: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    id: BigInt(i) + 1n,
    at: new Date(Date.UTC(2026, 0, 1) + i * 1000 + version),
    amount: i % 7 === 0 ? null : `${i + version}.25`,
    doc: i % 5 === 0 ? null : { n: i, v: version, tags: ['x', 'y'] },
    tags: i % 3 === 0 ? null : ['a', `t${i}`, 'b c'],
    note: i % 2 === 0 ? null : `note ${i} v${version}`,
  }));
}

async function freshTable(sql: Sql) {
  await sql`drop table if exists bench_events`;
  await sql`create table bench_events (id bigint primary key, at timestamptz not null,
    amount numeric(12,2), doc jsonb, tags text[], note text)`;
}

const copyText = (v: string) =>
  v
    .replaceAll('\\', '\\\\')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r')
    .replaceAll('\t', '\\t');
const arrayLiteral = (a: string[]) =>
  `{${a.map((s) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;

async function rawCopy(sql: Sql, rows: Row[]) {
  const stream =
    await sql`copy bench_events (id, at, amount, doc, tags, note) from stdin`.writable();
  const nul = '\\N';
  for (let i = 0; i < rows.length; i += 1000) {
    let chunk = '';
    for (const r of rows.slice(i, i + 1000)) {
      chunk += `${r.id}\t${r.at.toISOString()}\t${r.amount ?? nul}\t${
        r.doc === null ? nul : copyText(JSON.stringify(r.doc))
      }\t${r.tags === null ? nul : copyText(arrayLiteral(r.tags))}\t${r.note === null ? nul : copyText(r.note)}\n`;
    }
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
}

async function time(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return (performance.now() - start) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function main() {
  const server = await openBenchServer();
  process.once('SIGINT', () => void server.close().finally(() => process.exit(130)));
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    const v0 = makeRows(total, 0);
    const v1 = makeRows(total, 1);
    const write = (rows: Row[], batchSize: number, update: 'all' | 'none') =>
      upsert(sql, 'bench_events', rows, { key: ['id'], update, batchSize });
    const variants: [string, () => Promise<unknown>, boolean][] = [
      ['raw COPY into empty table', () => rawCopy(sql, v0), true],
    ];
    for (const batch of batchSizes) {
      const label = `upsert, batch ${batch.toLocaleString('en')}`;
      variants.push([`${label}, all inserts`, () => write(v0, batch, 'all'), true]);
      variants.push([`${label}, all conflicts → update`, () => write(v1, batch, 'all'), false]);
      variants.push([`${label}, all conflicts, 'none'`, () => write(v1, batch, 'none'), false]);
    }
    console.log(`${total.toLocaleString('en')} rows, ${reps} rounds, median`);
    // Round-robin: every round runs every variant once, so a burst of load from other work on the
    // machine lands on all variants alike rather than on one.
    const times = variants.map((): number[] => []);
    for (let rep = 0; rep < reps; rep++) {
      for (const [i, [name, run, empty]] of variants.entries()) {
        await freshTable(sql);
        if (!empty) await rawCopy(sql, v0);
        await sql`vacuum analyze bench_events`;
        times[i]?.push(await time(run));
        const [count] = await sql`select count(*)::int as n from bench_events`;
        if (count?.n !== total) throw new Error(`${name}: ${count?.n} rows, expected ${total}`);
      }
      console.error(`round ${rep + 1}/${reps} done`);
    }
    console.log('| variant | median s | rows/s | × raw COPY |\n|---|---:|---:|---:|');
    const copyRate = total / median(times[0] ?? []);
    for (const [i, [name]] of variants.entries()) {
      const rate = total / median(times[i] ?? []);
      console.log(
        `| ${name} | ${(total / rate).toFixed(2)} | ${Math.round(rate).toLocaleString('en')} | ${(rate / copyRate).toFixed(2)} |`,
      );
    }
  } finally {
    await sql.end();
    await server.close();
  }
}

await main();
