// The job of the held-rate benchmark: ITEMS items in chunks of CHUNK under a global rate limit of
// RATE/s. Each item only appends when it started (epoch ms, the clock the limiter uses) to
// START_FILE, so the benchmark measures the limiter and not a network.
import { appendFileSync } from 'node:fs';
import { chunks, defineJob } from 'sluice';

const env = process.env;

export default defineJob({
  name: env.JOB_NAME ?? 'held-rate',
  source: chunks(
    Array.from({ length: Number(env.ITEMS ?? 400) }, (_, i) => i + 1),
    Number(env.CHUNK ?? 10),
  ),
  maxParallelism: Number(env.CAP ?? 8),
  rateLimit: { perSecond: Number(env.RATE ?? 40) },
  async each(item) {
    appendFileSync(env.START_FILE as string, `${performance.timeOrigin + performance.now()}\n`);
    return item;
  },
});
