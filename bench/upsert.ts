// Upsert throughput next to raw COPY, the physical limit for loading.
//
//   npm run bench:upsert            fresh embedded server, 200,000 rows (BENCH_ROWS to change)
//
// The table has every type the sink must carry: bigint key, timestamptz, numeric(12,2), jsonb,
// text[] and a nullable text. Each variant runs 3 times on a fresh table; the median is shown.
import { once } from 'node:events';
import postgres, { type Sql } from 'postgres';
import { upsert } from '../src/sink/upsert.ts';
import { openBenchServer } from './server.ts';

const total = Number(process.env.BENCH_ROWS ?? 200_000);
const reps = 3;

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
    const options = { key: ['id'], update: 'all' } as const;
    const variants: [string, () => Promise<unknown>, boolean][] = [
      ['raw COPY into empty table', () => rawCopy(sql, v0), true],
      ['upsert, all inserts (batch 1000)', () => upsert(sql, 'bench_events', v0, options), true],
      [
        'upsert, all inserts (batch 5000)',
        () => upsert(sql, 'bench_events', v0, { ...options, batchSize: 5000 }),
        true,
      ],
      ['upsert, all conflicts → update', () => upsert(sql, 'bench_events', v1, options), false],
      [
        "upsert, all conflicts, 'none'",
        () => upsert(sql, 'bench_events', v1, { key: ['id'], update: 'none' }),
        false,
      ],
    ];
    console.log(`${total.toLocaleString('en')} rows, ${reps} runs each, median`);
    console.log('| variant | median s | rows/s |\n|---|---:|---:|');
    for (const [name, run, empty] of variants) {
      const times: number[] = [];
      for (let rep = 0; rep < reps; rep++) {
        await freshTable(sql);
        if (!empty) await rawCopy(sql, v0);
        await sql`vacuum analyze bench_events`;
        times.push(await time(run));
        const [count] = await sql`select count(*)::int as n from bench_events`;
        if (count?.n !== total) throw new Error(`${name}: ${count?.n} rows, expected ${total}`);
      }
      const s = median(times);
      console.log(`| ${name} | ${s.toFixed(2)} | ${Math.round(total / s).toLocaleString('en')} |`);
    }
  } finally {
    await sql.end();
    await server.close();
  }
}

await main();
