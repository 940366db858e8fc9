// Runs one cursor job over one table, in a process of its own, so that the peak RSS it prints is
// this run's alone. bench/cursor.ts spawns it; by hand:
//   BENCH_URL=postgres://... node --import tsx bench/cursorRun.ts cursor_bench_1m bench-cursor-x
// Prints one JSON line: { ms, planMs, rssBeforeMb, rssMb, rows, tasks, total }.
import { cursor, defineJob, Events, runJob, Store, succeeded } from 'sluice';

const [table, name] = process.argv.slice(2);
const url = process.env.BENCH_URL;
if (!table || !name || !url) throw new Error('Usage: BENCH_URL=... cursorRun.ts <table> <job>');
const batchSize = Number(process.env.BENCH_CURSOR_BATCH ?? 10_000);

interface Row {
  id: string;
  amount: number;
}

// Opening the store (and migrating it) is setup, not the run.
const store = await Store.open(url);
try {
  const job = defineJob({
    name,
    source: cursor<Row>({ table, key: ['updated_at', 'id'], batchSize, columns: ['id', 'amount'] }),
    maxParallelism: 4,
    async run(rows, { sql, index }) {
      let total = 0n;
      for (const row of rows) total += BigInt(row.amount);
      // Each chunk's sum, keyed by chunk: the driver checks their total against the table's.
      await sql`
        insert into cursor_bench_sums (job, seq, total) values (${name}, ${index}, ${total.toString()})
        on conflict (job, seq) do update set total = excluded.total`;
      return rows.map((row) => succeeded(row));
    },
  });
  const events = new Events();
  const rssBeforeMb = process.memoryUsage.rss() / 2 ** 20;
  let planMs = 0;
  const started = performance.now();
  events.on('job:planned', () => {
    planMs = performance.now() - started;
  });
  const summary = await runJob(job, { sourceUrl: url, store, events });
  const ms = performance.now() - started;
  if (summary.status !== 'done') throw new Error(`cursor run ended ${summary.status}`);
  // maxRSS is in KiB; read at the very end, so it is the whole run's peak.
  const rssMb = process.resourceUsage().maxRSS / 1024;
  console.log(
    JSON.stringify({
      ms,
      planMs,
      rssBeforeMb,
      rssMb,
      rows: summary.done,
      tasks: summary.tasks.total,
    }),
  );
} finally {
  await store.close();
}
