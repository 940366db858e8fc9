// Claim latency across every worker: each `sluice worker --metrics-port` keeps a histogram of its
// claim statements (sluice_claim_duration_seconds, fed by the `claim:done` event). The bench
// scrapes them all once the job is done, adds the buckets, and reads quantiles from the sum the
// way Prometheus's histogram_quantile does (linear within a bucket).

const metric = 'sluice_claim_duration_seconds';

export interface ClaimHistogram {
  /** Cumulative counts by upper bound in seconds, ascending; the last bound is +Inf. */
  buckets: [le: number, count: number][];
  count: number;
  sumSeconds: number;
}

export async function scrapeClaims(urls: readonly string[]): Promise<ClaimHistogram> {
  const total = new Map<number, number>();
  let count = 0;
  let sumSeconds = 0;
  for (const url of urls) {
    const text = await (await fetch(url)).text();
    for (const line of text.split('\n')) {
      const bucket = new RegExp(`^${metric}_bucket\\{le="([^"]+)"\\} (\\S+)$`).exec(line);
      if (bucket) {
        const le = bucket[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(bucket[1]);
        total.set(le, (total.get(le) ?? 0) + Number(bucket[2]));
      } else if (line.startsWith(`${metric}_count `)) count += Number(line.split(' ')[1]);
      else if (line.startsWith(`${metric}_sum `)) sumSeconds += Number(line.split(' ')[1]);
    }
  }
  const buckets = [...total].sort(([a], [b]) => a - b);
  return { buckets, count, sumSeconds };
}

/** The q-quantile in ms, interpolated within its bucket (the bucket's bound if it is the last). */
export function quantileMs(histogram: ClaimHistogram, q: number): number {
  const rank = q * histogram.count;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of histogram.buckets) {
    if (cumulative >= rank) {
      if (!Number.isFinite(le)) return lower * 1000;
      const inBucket = cumulative - below;
      const share = inBucket === 0 ? 1 : (rank - below) / inBucket;
      return (lower + (le - lower) * share) * 1000;
    }
    lower = le;
    below = cumulative;
  }
  return lower * 1000;
}
