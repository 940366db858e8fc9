import { Counter, Histogram, type Registry } from 'prom-client';
import type { Events } from '../events.ts';

// Tasks run from milliseconds (one-item chunks) to many minutes (a table range); claims take a
// round trip or a few; a rate-limit wait is a slot's spacing, or a 429's Retry-After.
const taskBuckets = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800];
const claimBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const waitBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The metrics of what this process did, fed from the events of the runs it watches. */
export class ProcessMetrics {
  private readonly taskDuration: Histogram<'job'>;
  private readonly claimDuration: Histogram;
  private readonly rateLimitWait: Histogram<'job'>;
  private readonly workerRestarts: Counter<'job'>;
  /** Jobs whose series exist already. */
  private readonly jobs = new Set<string>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.taskDuration = new Histogram({
      name: 'sluice_task_duration_seconds',
      help: 'Time from start to recorded outcome of the tasks this process finished, per job',
      labelNames: ['job'] as const,
      buckets: taskBuckets,
      registers,
    });
    this.claimDuration = new Histogram({
      name: 'sluice_claim_duration_seconds',
      help: 'Time one claim statement of this process took, tasks found or not',
      buckets: claimBuckets,
      registers,
    });
    this.rateLimitWait = new Histogram({
      name: 'sluice_rate_limit_wait_seconds',
      help: "Time each permit of the job's rate limit took to be granted in this process, per job",
      labelNames: ['job'] as const,
      buckets: waitBuckets,
      registers,
    });
    this.workerRestarts = new Counter({
      name: 'sluice_worker_restarts_total',
      help: 'Thread or process workers of the executor pool that died and were replaced, per job',
      labelNames: ['job'] as const,
      registers,
    });
  }

  /**
   * Feeds the metrics from one run's events, labelled with its job; returns what stops it. Each
   * job's series exist (at zero) from here on, so a rate over them is defined before the first
   * task ends.
   */
  watch(events: Events, job: string): () => void {
    // Once per job: zero() empties a series, and a worker watches each run of a job anew.
    if (!this.jobs.has(job)) {
      this.jobs.add(job);
      this.taskDuration.zero({ job });
      this.rateLimitWait.zero({ job });
      this.workerRestarts.inc({ job }, 0);
    }
    const stops = [
      events.on('task:done', ({ ms }) => this.taskDuration.observe({ job }, ms / 1000)),
      events.on('claim:done', ({ ms }) => this.claimDuration.observe(ms / 1000)),
      events.on('limit:waited', ({ ms }) => this.rateLimitWait.observe({ job }, ms / 1000)),
      events.on('executor:replaced', () => this.workerRestarts.inc({ job })),
    ];
    return () => {
      for (const stop of stops) stop();
    };
  }
}
