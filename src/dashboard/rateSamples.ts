import type { ThroughputPoint } from './model.ts';

interface Sample {
  at: number;
  done: number;
  failed: number;
}

/** How far back the current rate looks: long enough to smooth chunk-sized steps. */
const rateWindowMs = 10_000;
/** Samples kept per job: 10 minutes at one a second. */
const keep = 600;

/**
 * Items finished per second, from the counts the dashboard reads while someone watches. The store
 * counts a chunk's items when the chunk is recorded, so the rate is taken over a window, not
 * between two reads.
 */
export class RateSamples {
  private readonly byJob = new Map<string, Sample[]>();

  constructor(private readonly now: () => number = Date.now) {}

  record(job: string, done: number, failed: number): void {
    const samples = this.byJob.get(job) ?? [];
    const at = this.now();
    const last = samples.at(-1);
    if (last && at - last.at < 500) return;
    samples.push({ at, done, failed });
    if (samples.length > keep) samples.shift();
    this.byJob.set(job, samples);
  }

  /** Items (done or failed) per second over the last window; undefined with under 2 s to go on. */
  rate(job: string): number | undefined {
    const samples = this.byJob.get(job) ?? [];
    const last = samples.at(-1);
    if (!last) return undefined;
    const first = samples.find((s) => last.at - s.at <= rateWindowMs) ?? last;
    const seconds = (last.at - first.at) / 1000;
    if (seconds < 2) return undefined;
    return Math.max(0, last.done + last.failed - first.done - first.failed) / seconds;
  }

  /** Items and failures per second in buckets of `bucketMs`, oldest first. */
  series(job: string, bucketMs = 5000): ThroughputPoint[] {
    const samples = this.byJob.get(job) ?? [];
    const points: ThroughputPoint[] = [];
    let start = samples[0];
    for (const s of samples) {
      if (!start || s.at - start.at < bucketMs) continue;
      const seconds = (s.at - start.at) / 1000;
      points.push({
        at: new Date(s.at),
        itemsPerSecond: Math.max(0, s.done - start.done) / seconds,
        failuresPerSecond: Math.max(0, s.failed - start.failed) / seconds,
      });
      start = s;
    }
    return points;
  }
}
