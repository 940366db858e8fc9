// A chunk job for the terminal tests: ITEMS numbers in chunks of CHUNK. Every FAIL_EVERY-th item
// fails for good; each chunk's first item sleeps PAUSE_MS; items past OPEN_AFTER wait for
// GATE_FILE to exist. With CRASH_MARKER, item CRASH_AT waits for CRASH_GATE, then its worker
// process dies, once (it leaves the marker behind), so its chunk is retried whole.
import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { chunks, defineJob, PermanentError } from 'sluice';

const env = process.env;
const items = Number(env.ITEMS ?? 10);
const chunk = Number(env.CHUNK ?? 10);
const failEvery = Number(env.FAIL_EVERY ?? 0);
const openAfter = Number(env.OPEN_AFTER ?? Infinity);

export default defineJob({
  name: env.JOB_NAME ?? 'gated',
  source: chunks(
    Array.from({ length: items }, (_, i) => i + 1),
    chunk,
  ),
  maxParallelism: 2,
  retry: { attempts: 3, baseMs: 10, maxMs: 10 },
  async each(item: number, { signal }) {
    if (item % chunk === 1) await sleep(Number(env.PAUSE_MS ?? 0), undefined, { signal });
    if (env.CRASH_MARKER && item === Number(env.CRASH_AT) && !existsSync(env.CRASH_MARKER)) {
      await until(env.CRASH_GATE as string, signal);
      writeFileSync(env.CRASH_MARKER, 'crashed');
      process.exit(1);
    }
    if (failEvery > 0 && item % failEvery === 0) throw new PermanentError(`item ${item} is bad`);
    if (item > openAfter) await until(env.GATE_FILE as string, signal);
    return item * 2;
  },
});

async function until(file: string, signal: AbortSignal): Promise<void> {
  while (!existsSync(file)) await sleep(20, undefined, { signal });
}
