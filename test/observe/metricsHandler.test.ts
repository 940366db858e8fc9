import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { register as globalRegistry, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  chunks,
  createMetrics,
  defineJob,
  Events,
  InputError,
  metricsHandler,
  runJob,
  Store,
  startMetricsServer,
} from '../../src/index.ts';
import { useTestDatabase } from '../support/db.ts';
import { familyOf, parseExposition, sampleValue } from './metricsText.ts';

const db = useTestDatabase();
let store: Store;

beforeAll(async () => {
  store = await Store.open(db.url);
});
afterAll(async () => {
  await store.close();
});

const families = {
  sluice_items_total: 'counter',
  sluice_tasks: 'gauge',
  sluice_dead_letters: 'gauge',
  sluice_job_info: 'gauge',
  sluice_job_processes: 'gauge',
  sluice_task_duration_seconds: 'histogram',
  sluice_claim_duration_seconds: 'histogram',
  sluice_rate_limit_wait_seconds: 'histogram',
  sluice_worker_restarts_total: 'counter',
};

/** Serves `handler` on a plain node:http server on a free port; returns its URL. */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<{
  url: string;
  server: Server;
}> {
  const server = createServer(handler);
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/metrics`, server };
}

const close = (server: Server) => new Promise((closed) => server.close(closed));

/** A job of 12 chunks of 5 items under a rate limit; every 7th item fails for good. */
const job = (name: string) =>
  defineJob({
    name,
    source: chunks(
      Array.from({ length: 60 }, (_, i) => i + 1),
      5,
    ),
    maxParallelism: 3,
    rateLimit: { perSecond: 5000 },
    retry: { attempts: 1 },
    async each(n: number) {
      if (n % 7 === 0) throw new Error(`item ${n} is bad`);
      return n;
    },
  });

describe('metricsHandler on a plain node:http server', () => {
  test('serves the text format, with HELP and TYPE for every family and every sample', async () => {
    const metrics = createMetrics({ store });
    const events = new Events();
    const stop = metrics.watch(events, 'handler-job');
    const summary = await runJob(job('handler-job'), { sourceUrl: db.url, store, events });
    stop();
    expect(summary.tasks).toEqual({ total: 12, done: 12, failed: 0 });
    const { url, server } = await serve(metricsHandler(metrics));
    try {
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      const exposition = parseExposition(text);
      for (const [name, type] of Object.entries(families)) {
        expect(text).toContain(`# HELP ${name} `);
        expect(exposition.families.get(name)?.type, name).toBe(type);
      }
      // Node's process metrics come with sluice's own registry.
      expect(exposition.families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
      for (const sample of exposition.samples) {
        const family = familyOf(exposition, sample.name);
        expect(family, `the family of ${sample.name}`).toBeDefined();
        expect(exposition.families.get(family as string)?.help, family).toBeTruthy();
      }
      // This process ran every task and took a permit per item; the store holds what it did.
      const labels = { job: 'handler-job' };
      expect(sampleValue(exposition, 'sluice_task_duration_seconds_count', labels)).toBe(12);
      expect(sampleValue(exposition, 'sluice_rate_limit_wait_seconds_count', labels)).toBe(60);
      expect(sampleValue(exposition, 'sluice_claim_duration_seconds_count')).toBeGreaterThanOrEqual(
        1,
      );
      expect(sampleValue(exposition, 'sluice_worker_restarts_total', labels)).toBe(0);
      const items = (outcome: string) =>
        sampleValue(exposition, 'sluice_items_total', { ...labels, outcome });
      expect([items('succeeded'), items('failed')]).toEqual([52, 8]);
      expect(sampleValue(exposition, 'sluice_tasks', { ...labels, state: 'done' })).toBe(12);
      expect(sampleValue(exposition, 'sluice_dead_letters', labels)).toBe(8);
      expect(sampleValue(exposition, 'sluice_job_info', { ...labels, status: 'failed' })).toBe(1);
      expect(sampleValue(exposition, 'sluice_job_processes', labels)).toBe(0);

      const head = await fetch(url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
      const post = await fetch(url, { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
    } finally {
      await close(server);
    }
  });

  test('given a store, it serves every job in it, on metrics of its own', async () => {
    const { url, server } = await serve(metricsHandler(store));
    try {
      const exposition = parseExposition(await (await fetch(url)).text());
      expect(
        sampleValue(exposition, 'sluice_job_info', { job: 'handler-job', status: 'failed' }),
      ).toBe(1);
      // Nothing ran under these metrics: no task series yet, but the families are there.
      expect(exposition.families.get('sluice_task_duration_seconds')?.type).toBe('histogram');
      expect(
        sampleValue(exposition, 'sluice_task_duration_seconds_count', { job: 'handler-job' }),
      ).toBe(undefined);
    } finally {
      await close(server);
    }
  });

  test("a registry of the user's own gets sluice's metrics; prom-client's global one is untouched", async () => {
    const registry = new Registry();
    createMetrics({ store, registry });
    const text = await registry.metrics();
    expect(text).toContain('sluice_job_info{job="handler-job",status="failed"} 1');
    // Node's process metrics are the user's to add to their registry: none by default.
    expect(text).not.toContain('process_cpu_user_seconds_total');
    expect(await globalRegistry.metrics()).not.toContain('sluice_');
  });

  test('a store that cannot be read is a failed scrape (503), not wrong figures', async () => {
    const lost = await Store.open(db.url);
    const metrics = createMetrics({ store: lost });
    await lost.close();
    const { url, server } = await serve(metricsHandler(metrics));
    try {
      const response = await fetch(url);
      expect(response.status).toBe(503);
      expect(await response.text()).toMatch(/^sluice: cannot read the metrics: .+\n$/);
    } finally {
      await close(server);
    }
  });
});

describe('startMetricsServer', () => {
  test('serves /metrics on 127.0.0.1 by default, 404 elsewhere, and refuses a port in use', async () => {
    const first = await startMetricsServer({ port: 0, store });
    try {
      expect(first.url).toBe(`http://127.0.0.1:${first.port}/metrics`);
      const response = await fetch(`${first.url}?name[]=sluice_tasks`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('# TYPE sluice_tasks gauge');
      expect((await fetch(first.url.replace('/metrics', '/'))).status).toBe(404);
      const taken = startMetricsServer({ port: first.port, store });
      await expect(taken).rejects.toThrow(InputError);
      await expect(taken).rejects.toThrow(
        `Cannot serve metrics on 127.0.0.1:${first.port}: the port is in use`,
      );
    } finally {
      await first.close();
    }
  });
});
