import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, test } from 'vitest';
import { chunks, defineJob, runJob, Store } from '../../src/index.ts';
import { joinJob } from '../../src/run/joinJob.ts';
import { waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';
import { countQueries, type QueryCounter } from './queryCounter.ts';

// An idle process costs the database at most 5 queries a second, over every connection it holds:
// a worker joined to a job whose tasks are all held by another live process, with nothing to
// claim. Counted at the wire, through a proxy, over a window of several seconds.
const db = useTestDatabase();
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
});

const windowMs = 6000;
const mostPerSecond = 5;

/** Queries by text sent between two snapshots, most first: what to look at when the test fails. */
function sentSince(counter: QueryCounter, before: Map<string, number>): string {
  return [...counter.texts]
    .map(([text, n]) => [text, n - (before.get(text) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([text, n]) => `${n}× ${text}`)
    .join('\n');
}

/**
 * Plans a job of 8 tasks at `cap`, has another live process claim `held` of them, then joins a
 * worker through the counting proxy and counts what it sends once it has settled.
 */
async function idleWorker(name: string, cap: number, held: number) {
  const holder = await Store.open(db.url);
  closers.push(() => holder.close());
  await holder.join();
  const job = defineJob({
    name,
    source: chunks(
      Array.from({ length: 40 }, (_, i) => i),
      5,
    ),
    maxParallelism: cap,
    // The alert's evaluation is one more background read; keep it in the count.
    alert: { failureRate: 0.5, minItems: 1, action: 'warn' },
    each: async (n: number) => n,
  });
  await runJob(job, { sourceUrl: db.url, store: holder, detach: true });
  const planned = await holder.findJob(name);
  // Held by a process that lives on: nothing to reclaim.
  expect(await holder.claim(planned?.id ?? '', held)).toHaveLength(held);

  const counter = await countQueries(db.url);
  closers.push(() => counter.close());
  const store = await Store.open(counter.url);
  closers.push(() => store.close());
  const stop = new AbortController();
  const joined = joinJob(job, { sourceUrl: counter.url, store, stop: stop.signal });
  closers.push(async () => {
    stop.abort();
    await joined;
  });
  // Running: it has tried to claim, and found nothing. Its poll then backs off to its idle pace
  // (200 + 400 + 800 + 1,600 ms); the count starts after that.
  await waitFor(
    async () => [...counter.texts.keys()].some((t) => t.includes('claim_tasks')),
    30_000,
  );
  await sleep(3000);

  const before = new Map(counter.texts);
  const from = counter.queries;
  const started = performance.now();
  await sleep(windowMs);
  const sent = counter.queries - from;
  const seconds = (performance.now() - started) / 1000;
  expect(
    sent,
    `${sent} queries in ${seconds.toFixed(1)} s:\n${sentSince(counter, before)}`,
  ).toBeLessThanOrEqual(mostPerSecond * seconds);

  stop.abort();
  const summary = await joined;
  expect(summary?.status).toBe('interrupted');
}

test('a worker on a job whose tasks are all held elsewhere sends at most 5 queries a second', async () => {
  await idleWorker('all-held', 20, 8);
}, 60_000);

test('so does a worker on a job whose cap is full with another process’s tasks', async () => {
  await idleWorker('cap-full', 4, 4);
}, 60_000);
