// A chunk job for the metrics tests: ITEMS numbers in chunks of CHUNK, each item under a rate
// limit (one permit each). Every FAIL_EVERY-th item fails for good; items past OPEN_AFTER wait for
// GATE_FILE to exist. RAN_LOG gets a line `<pid> <item>` per item, from the process that ran it.
// With CRASH_MARKER, the process running item CRASH_AT dies once (leaving the marker behind).
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { chunks, defineJob, PermanentError } from 'sluice';

const env = process.env;
const items = Number(env.ITEMS ?? 10);
const chunk = Number(env.CHUNK ?? 10);
const failEvery = Number(env.FAIL_EVERY ?? 0);
const openAfter = Number(env.OPEN_AFTER ?? Infinity);

export default defineJob({
  name: env.JOB_NAME ?? 'metrics',
  source: chunks(
    Array.from({ length: items }, (_, i) => i + 1),
    chunk,
  ),
  maxParallelism: 2,
  rateLimit: { perSecond: 2000 },
  retry: { attempts: 3, baseMs: 10, maxMs: 10 },
  async each(item: number, { signal }) {
    if (env.RAN_LOG) appendFileSync(env.RAN_LOG, `${process.pid} ${item}\n`);
    if (env.CRASH_MARKER && item === Number(env.CRASH_AT) && !existsSync(env.CRASH_MARKER)) {
      writeFileSync(env.CRASH_MARKER, 'crashed');
      process.exit(1);
    }
    if (failEvery > 0 && item % failEvery === 0) throw new PermanentError(`item ${item} is bad`);
    if (item > openAfter) {
      while (!existsSync(env.GATE_FILE as string)) await sleep(20, undefined, { signal });
    }
    return item * 2;
  },
});
