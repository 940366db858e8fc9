import type { Sql } from 'postgres';
import { isoTime } from './time.ts';

/** One bucket of a job's throughput series. */
export interface ThroughputPoint {
  /** The bucket's start. */
  at: string;
  itemsPerS: number;
  failuresPerS: number;
}

export interface ThroughputSeries {
  /** The width of every bucket: it grows with the job's life, so a series keeps ≤ 200 points. */
  bucketSeconds: number;
  points: ThroughputPoint[];
}

/**
 * Items (succeeded) and failures per second over the job's life, from the completions rollup that
 * the triggers of migration 0014 keep (sluice.task_throughput): a dashboard opened mid-run has the
 * whole history. Rows of finer widths are re-binned into this series' width on the server; empty
 * buckets are filled with zeros here. The last bucket may still be filling.
 */
export async function throughputSeries(sql: Sql, jobId: string): Promise<ThroughputSeries> {
  const [job] = await sql<{ start: Date; end: Date; seconds: number }[]>`
    select created_at as start, coalesce(finished_at, now()) as end,
      sluice.throughput_width(extract(epoch from coalesce(finished_at, now()) - created_at)::float8) as seconds
    from sluice.jobs where id = ${jobId}`;
  if (!job) return { bucketSeconds: 1, points: [] };
  const rows = await sql<{ bucket: number; done: number; failed: number }[]>`
    select floor(extract(epoch from r.at - j.created_at) / ${job.seconds})::int as bucket,
      sum(r.done_items)::float8 as done, sum(r.failed_items)::float8 as failed
    from sluice.jobs j join sluice.task_throughput r on r.job_id = j.id
    where j.id = ${jobId}
    group by 1 order by 1`;
  const byBucket = new Map(rows.map((r) => [r.bucket, r]));
  const last = Math.max(
    Math.floor((job.end.getTime() - job.start.getTime()) / 1000 / job.seconds),
    rows.at(-1)?.bucket ?? 0,
  );
  const points: ThroughputPoint[] = [];
  for (let bucket = Math.min(0, rows[0]?.bucket ?? 0); bucket <= last; bucket++) {
    const row = byBucket.get(bucket);
    points.push({
      at: isoTime(new Date(job.start.getTime() + bucket * job.seconds * 1000)) as string,
      itemsPerS: (row?.done ?? 0) / job.seconds,
      failuresPerS: (row?.failed ?? 0) / job.seconds,
    });
  }
  return { bucketSeconds: job.seconds, points };
}

/** A job's pace over the last minute or so. */
export interface RecentRate {
  /** Items (succeeded and failed) per second. */
  itemsPerS: number;
  /** How far back the rate looks: at least 60 s, up to 60 s plus one bucket of the rollup. */
  windowS: number;
}

/**
 * Items finished per second lately, for each job: the rollup's rows from the start of the
 * bucket holding "a minute ago" to now. Rows are aligned on the job's grid, so every row counted
 * lies inside the window. Every job asked for has an entry.
 */
export async function recentRates(
  sql: Sql,
  jobIds: readonly string[],
): Promise<Map<string, RecentRate>> {
  const rates = new Map<string, RecentRate>(jobIds.map((id) => [id, { itemsPerS: 0, windowS: 0 }]));
  if (jobIds.length === 0) return rates;
  const rows = await sql<{ jobId: string; items: number; windowS: number }[]>`
    select w.id::text as "jobId", w.window_s as "windowS",
      coalesce((select sum(r.done_items + r.failed_items) from sluice.task_throughput r
                where r.job_id = w.id and r.at >= w.since), 0)::float8 as items
    from (select j.id, s.since, greatest(extract(epoch from now() - s.since), 1)::float8 as window_s
          from sluice.jobs j,
            lateral (select greatest(j.created_at, date_bin(
              make_interval(secs => sluice.throughput_width(extract(epoch from now() - j.created_at)::float8)),
              now() - interval '60 s', j.created_at)) as since) s
          where j.id = any(${jobIds as string[]}::bigint[])) w`;
  for (const row of rows) {
    rates.set(row.jobId, { itemsPerS: row.items / row.windowS, windowS: row.windowS });
  }
  return rates;
}
