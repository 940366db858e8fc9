// Plans one job whose source is `chunks(file, 1000)`, in a process of its own, so that the peak
// RSS it prints is this plan's alone. bench/chunkPlan.ts spawns it; by hand:
//   BENCH_URL=postgres://... node --import tsx bench/chunkPlanRun.ts /tmp/ids.txt bench-plan-x
// Prints one JSON line: { ms, rssBeforeMb, rssMb }.
import { chunks, Store } from 'sluice';

const [file, name] = process.argv.slice(2);
const url = process.env.BENCH_URL;
if (!file || !name || !url) throw new Error('Usage: BENCH_URL=... chunkPlanRun.ts <file> <job>');

// Opening the store (and migrating it) is setup, not the plan.
const store = await Store.open(url);
try {
  const source = chunks(file, 1000);
  const rssBeforeMb = process.memoryUsage.rss() / 2 ** 20;
  const started = performance.now();
  // What runJob does on a first run, without running anything: the plan is the whole job here.
  await store.findOrCreateJob(
    {
      name,
      source: source.describe,
      fingerprint: source.fingerprint,
      maxParallelism: 1,
      maxAttempts: 1,
    },
    () => source.plan({ sql: store.sql }),
  );
  const ms = performance.now() - started;
  // maxRSS is in KiB.
  const rssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ ms, rssBeforeMb, rssMb }));
} finally {
  await store.close();
}
