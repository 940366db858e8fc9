// A polite crawl: fetch a site's pages for their titles. Each worker keeps one HTTP client,
// waits 0.5-1 s between its pages, and at most 4 workers crawl at once. A 503 waits out its
// Retry-After and tries again; a 404 fails at once. Every URL gets an outcome; the demo site
// misses 4 of its 200 pages, so the run ends with exit 3 on purpose.
//
//   npx sluice run examples/scrape-titles.ts --out titles.jsonl
//   npx sluice retry examples/scrape-titles.ts --failed-only
//   SITE_URL=http://127.0.0.1:8788 npx sluice run examples/scrape-titles.ts
import { parse } from 'node-html-parser';
import { chunks, defineJob, PermanentError, throwIfThrottled } from 'sluice';
import { HttpClient } from './demo/httpClient.ts';
import { startJobSite } from './peers/site.ts';

const name = process.env.JOB_NAME ?? 'scrape-titles';
let siteUrl = process.env.SITE_URL;
let workers = 0;

/** The site's URL list, fetched at plan time (after `prepare` has started the demo site). */
async function* siteUrls(): AsyncGenerator<string> {
  const client = new HttpClient();
  try {
    const list = await client.get(`${siteUrl}/urls.txt`);
    if (list.status !== 200) throw new Error(`${siteUrl}/urls.txt answered ${list.status}`);
    yield* list.body.split('\n').filter((line) => line.trim() !== '');
  } finally {
    client.close();
  }
}

export default defineJob({
  name,
  source: chunks(siteUrls(), 25),
  maxParallelism: Number(process.env.WORKERS ?? 4),
  pacing: {
    minIntervalMs: Number(process.env.PACE_MS ?? 500),
    jitterMs: Number(process.env.JITTER_MS ?? 500),
  },
  retry: { attempts: 3, baseMs: 1000 },
  async prepare() {
    // With no SITE_URL, the demo site (some slow pages, some 503, a few 404) runs in this process,
    // on the same port every run (or SITE_PORT), as a real site keeps its address: a retry
    // fetches the very URLs the first run stored.
    siteUrl ??= await startJobSite(
      name,
      {
        pages: Number(process.env.PAGES ?? 200),
        // How many 503s an unavailable page gives before it recovers.
        unavailableTimes: Number(process.env.UNAVAILABLE_TIMES ?? 1),
      },
      process.env.SITE_PORT ? Number(process.env.SITE_PORT) : undefined,
    );
  },
  // The X-Worker header lets the site check each worker's spacing.
  setup: () => new HttpClient({ 'x-worker': `${process.pid}-${++workers}` }),
  teardown: (client) => client.close(),
  async each(url, { resource: client, signal }) {
    const response = throwIfThrottled(await client.get(url, signal));
    if (response.status === 404)
      throw Object.assign(new PermanentError(`not found: ${url}`), { status: 404 });
    if (response.status !== 200)
      throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status });
    const title = parse(response.body).querySelector('title');
    return { url, title: title ? title.text.trim() : null };
  },
});
