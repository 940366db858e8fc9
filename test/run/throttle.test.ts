import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { chunks, defineJob, runJob, Store, throwIfThrottled } from '../../src/index.ts';
import { createTestDatabase } from '../support/db.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;
let server: Server;
let base: string;
/** Every request the server saw: which item, when, and whether it was turned away. */
const seen: { item: number; at: number; throttled: boolean }[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  store = await Store.open(db.url);
  // Item 3's first request gets a 429 with Retry-After: 1; everything else a 200.
  server = createServer((req, res) => {
    const item = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('item'));
    const throttled = item === 3 && !seen.some((s) => s.item === 3);
    seen.push({ item, at: performance.now(), throttled });
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
      const response = await fetch(`${base}/?item=${item}`);
      throwIfThrottled(response);
      return Number(await response.text());
    },
  });
  const summary = await runJob(job, { sourceUrl: db.url, store });
  expect(summary).toMatchObject({ status: 'done', done: 12, failed: 0 });
  const throttle = seen.find((s) => s.throttled);
  expect(throttle).toBeDefined();
  // The other worker may have had a request on the wire already; after that, nothing reached the
  // server during the second it asked for.
  const at = throttle?.at ?? 0;
  const during = seen.filter((s) => s.at > at && s.at < at + 950);
  expect(during.length).toBeLessThanOrEqual(1);
  for (const s of during) expect(s.at - at).toBeLessThan(50);
  const retried = seen.find((s) => s.item === 3 && !s.throttled);
  expect((retried?.at ?? 0) - (throttle?.at ?? 0)).toBeGreaterThanOrEqual(950);
});
