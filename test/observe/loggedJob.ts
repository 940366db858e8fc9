// A chunk job for the JSON log tests: 12 numbers in chunks of 3, each chunk logging with ctx.log.
// Item 5 fails; the chunk with 7 throws on its first attempt and is retried; the chunk with 10
// throws for good, with a password in its error. Any failure trips the alert (warn), whose
// onAlert throws, which sluice reports as a process warning. PAUSE_MS slows each chunk down.
import { setTimeout as sleep } from 'node:timers/promises';
import { chunks, defineJob, failed, PermanentError, succeeded } from 'sluice';

export default defineJob({
  name: process.env.JOB_NAME ?? 'logged',
  source: chunks(
    Array.from({ length: 12 }, (_, i) => i + 1),
    3,
  ),
  maxParallelism: 2,
  retry: { attempts: 2, baseMs: 10, maxMs: 10 },
  alert: { failureRate: 0.01, minItems: 1, action: 'warn' },
  onAlert() {
    throw new Error('the pager is down');
  },
  async run(items, { log, attempt, signal }) {
    log.info(`chunk from ${items[0]}, attempt ${attempt}`);
    await sleep(Number(process.env.PAUSE_MS ?? 0), undefined, { signal });
    if (items.includes(7) && attempt === 1) throw new Error('chunk with 7 hiccuped');
    if (items.includes(10)) {
      throw new PermanentError(
        'chunk with 10 cannot reach postgres://app:hunter2@db.internal/shop',
      );
    }
    return items.map((n) =>
      n === 5 ? failed(n, new Error('item 5 is unavailable')) : succeeded(n, n * 2),
    );
  },
});
