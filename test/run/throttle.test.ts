import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { chunks, defineJob, runJob, Store, throwIfThrottled } from '../../src/index.ts';
import { createTestDatabase } from '../support/db.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;
let server: Server;
let base: string;
/**
 * Every request the server saw: which item, when the job sent it (`sentAt`) and when it arrived
 * (`at`), and whether it was turned away. The job runs in this process, so both times are on the
 * same clock.
 */
const seen: { item: number; sentAt: number; at: number; throttled: boolean }[] = [];
/** When the job got the 429 back, the moment the pause starts. */
let throttledAt: number | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  store = await Store.open(db.url);
  // Item 3's first request gets a 429 with Retry-After: 1; everything else a 200.
  server = createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const item = Number(query.get('item'));
    const throttled = item === 3 && !seen.some((s) => s.item === 3);
    seen.push({ item, sentAt: Number(query.get('sent')), at: performance.now(), throttled });
    if (throttled) res.writeHead(429, { 'retry-after': '1' }).end();
    else res.writeHead(200).end(String(item * 10));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((done) => server.close(done));
  await store.close();
  await db.drop();
});

test('without a rate limit, a 429 still holds every worker for its Retry-After', async () => {
  const job = defineJob({
    name: 'throttled-each',
    source: chunks(
      Array.from({ length: 12 }, (_, i) => i + 1),
      3,
    ),
    maxParallelism: 2,
    retry: { attempts: 3, baseMs: 1, maxMs: 1 },
    async each(item: number) {
      const response = await fetch(`${base}/?item=${item}&sent=${performance.now()}`);
      if (response.status === 429) throttledAt ??= performance.now();
      throwIfThrottled(response);
      return Number(await response.text());
    },
  });
  const summary = await runJob(job, { sourceUrl: db.url, store });
  expect(summary).toMatchObject({ status: 'done', done: 12, failed: 0 });
  const throttle = seen.find((s) => s.throttled);
  expect(throttle).toBeDefined();
  expect(throttledAt).toBeDefined();
  const pausedAt = throttledAt ?? 0;
  // No worker sent anything during the second the 429 asked for, counted from when the job got it.
  const sentDuring = seen.filter((s) => s.sentAt > pausedAt && s.sentAt < pausedAt + 950);
  expect(sentDuring).toEqual([]);
  // What reached the server during that second was already on the wire (the other worker's
  // request), however long it took to arrive on a busy machine.
  const at = throttle?.at ?? 0;
  for (const s of seen.filter((s) => s.at > at && s.at < at + 950)) {
    expect(s.sentAt).toBeLessThan(pausedAt);
  }
  const retried = seen.find((s) => s.item === 3 && !s.throttled);
  expect((retried?.at ?? 0) - (throttle?.at ?? 0)).toBeGreaterThanOrEqual(950);
});
