import type { Sql } from 'postgres';
import { Counter, Gauge, type Registry } from 'prom-client';
import { type JobFigures, readStoreSnapshot, taskStates } from './storeSnapshot.ts';

/**
 * Registers the metrics every sluice process can serve alike: read from the store when scraped,
 * so one scrape target (a worker, the dashboard) shows every job, whichever process ran it.
 */
export function registerStoreWide(registry: Registry, sql: Sql): void {
  const snapshot = oncePerScrape(() => readStoreSnapshot(sql));
  const registers = [registry];

  // A counter whose value is the stored total: collect() resets it and adds the total, which
  // prom-client allows (inc by a value >= 0). Prometheus sees a counter that only grows, except
  // after `--rerun` or `sluice retry`, which it reads as a counter reset.
  new Counter({
    name: 'sluice_items_total',
    help: 'Items of finished tasks in the store, by outcome (succeeded, failed), per job',
    labelNames: ['job', 'outcome'] as const,
    registers,
    async collect() {
      const jobs = await snapshot();
      this.reset();
      for (const { job, succeededItems, failedItems } of jobs) {
        this.inc({ job, outcome: 'succeeded' }, succeededItems);
        this.inc({ job, outcome: 'failed' }, failedItems);
      }
    },
  });

  gauge('sluice_tasks', 'Tasks in the store per job and state', ['job', 'state'], (set, jobs) => {
    for (const { job, tasks } of jobs) {
      for (const state of taskStates) set({ job, state }, tasks[state]);
    }
  });
  gauge(
    'sluice_dead_letters',
    'Dead letters (items that failed for good) per job',
    ['job'],
    (set, jobs) => {
      for (const { job, deadLetters } of jobs) set({ job }, deadLetters);
    },
  );
  gauge(
    'sluice_job_info',
    'Each job in the store, with its status as a label; always 1',
    ['job', 'status'],
    (set, jobs) => {
      for (const { job, status } of jobs) set({ job, status }, 1);
    },
  );
  gauge('sluice_job_processes', 'Processes running a task of the job now', ['job'], (set, jobs) => {
    for (const { job, processes } of jobs) set({ job }, processes);
  });

  function gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (set: (labels: Record<L, string>, value: number) => void, jobs: JobFigures[]) => void,
  ): void {
    new Gauge({
      ...{ name, help, labelNames, registers },
      async collect() {
        const jobs = await snapshot();
        // Set in one synchronous pass, so a job gone from the store leaves no stale series.
        this.reset();
        fill((labels, value) => this.set(labels, value), jobs);
      },
    });
  }
}

/**
 * Shares one store read between the families of a scrape: prom-client calls every collect() in
 * the same tick, so they all find the read in flight and wait on it; the next scrape reads anew.
 */
function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => {
    inFlight ??= read().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}
