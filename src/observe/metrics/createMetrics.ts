import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Store } from '../../store/index.ts';
import type { Events } from '../events.ts';
import { ProcessMetrics } from './perProcess.ts';
import { registerStoreWide } from './storeWide.ts';

export interface MetricsOptions {
  /** The store whose jobs the store-wide metrics read, at each scrape. */
  store: Pick<Store, 'sql'>;
  /**
   * Registers sluice's metrics in this registry. Default: a registry of sluice's own, never
   * prom-client's global one, so an application's own metrics stay as they are.
   */
  registry?: Registry;
  /**
   * Adds Node's process metrics (prom-client's `collectDefaultMetrics`). Default: true with
   * sluice's own registry, false with yours, which may hold them already (twice would throw).
   */
  processMetrics?: boolean;
}

/** Prometheus metrics of sluice: store-wide ones read at scrape time, and this process's own. */
export interface Metrics {
  readonly registry: Registry;
  /**
   * Feeds this process's histograms and counters from a run's events (`runJob`'s or `joinJob`'s
   * `events`), labelled with the job's name; returns what stops it.
   */
  watch(events: Events, job: string): () => void;
  /** The text exposition of every metric in the registry, and its content type. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

/** Creates sluice's metrics for a store: see docs/operations.md, "Metrics", for each one. */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = options.registry ?? new Registry();
  registerStoreWide(registry, options.store.sql);
  const processMetrics = new ProcessMetrics(registry);
  if (options.processMetrics ?? options.registry === undefined) {
    collectDefaultMetrics({ register: registry });
  }
  return {
    registry,
    watch: (events, job) => processMetrics.watch(events, job),
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}
