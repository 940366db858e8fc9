// A small website to crawl politely, for the scrape example and its tests: some pages are slow,
// some answer 503, a few are missing, and it refuses more than `maxConcurrent` requests at once.
// It records who asked and when, so a test can prove per-worker pacing and a worker cap.
// `node --import tsx examples/peers/site.ts --pages 500 --max-concurrent 8` prints its URL.
import { type Peer, pause, sendText, sendTooManyRequests, startHttpPeer } from './httpPeer.ts';
import {
  isMainModule,
  type ListenOptions,
  resolveOptions,
  serveFromCommandLine,
  wholeNumber,
} from './peerOptions.ts';
import { stableHash } from './stableHash.ts';
import { WorkerActivity, type WorkerStats } from './workerActivity.ts';

export type { WorkerStats } from './workerActivity.ts';

export interface SitePeerOptions extends ListenOptions {
  /** Pages served at `/page/1` to `/page/<pages>`; `/urls.txt` lists them all. Default 200. */
  pages?: number;
  /** Every Nth page is slow; 0 for none. Default 7. */
  slowEvery?: number;
  /** How long a slow page takes to answer. Default 300. */
  slowDelayMs?: number;
  /** Every Nth page answers 503 with `Retry-After: 1`; 0 for none. Default 13. */
  unavailableEvery?: number;
  /** How many 503s each such page gives before it recovers; Infinity: never. Default Infinity. */
  unavailableTimes?: number;
  /** Every Nth page is 404, as is every page over `pages`; 0 for none. Default 50. */
  missingEvery?: number;
  /** Page requests allowed in progress at once from all clients; more get 429. Default 8. */
  maxConcurrent?: number;
  /**
   * Smallest start-to-start gap allowed between one worker's requests; closer ones get 429.
   * Default 0: measured only, because clients that share pooled connections and send no
   * `X-Worker` header cannot be told apart.
   */
  minGapMs?: number;
}

export const sitePeerDefaults = {
  port: 0,
  pages: 200,
  slowEvery: 7,
  slowDelayMs: 300,
  unavailableEvery: 13,
  unavailableTimes: Infinity,
  missingEvery: 50,
  maxConcurrent: 8,
  minGapMs: 0,
} satisfies Required<SitePeerOptions>;

export interface SiteRequestRecord {
  /** `performance.now()` at arrival. */
  at: number;
  worker: string;
  page: number;
  status: number;
}

export interface SitePeerStats {
  /** Answered requests for `/page/:n` (nothing else is counted); one `log` record each. */
  requests: number;
  /** 200 answers, slow ones included. */
  ok: number;
  slow: number;
  notFound: number;
  unavailable503: number;
  rejected429: number;
  /** Most page requests in progress at once, including any about to be refused. */
  maxInFlight: number;
  maxInFlightPerWorker: number;
  /** Smallest `minGapMs` of any worker. */
  minGapMs: number;
  workers: Record<string, WorkerStats>;
  /** Every answered page request, in the order answered. */
  log: SiteRequestRecord[];
}

export type PageKind = 'ok' | 'slow' | 'unavailable' | 'missing';

const everyNth = (page: number, every: number) => every > 0 && page % every === 0;

/** What `/page/<page>` is designed to answer: missing wins over unavailable, which wins over slow. */
export function pageKind(page: number, given: SitePeerOptions = {}): PageKind {
  const options = { ...sitePeerDefaults, ...given };
  if (page < 1 || page > options.pages || everyNth(page, options.missingEvery)) return 'missing';
  if (everyNth(page, options.unavailableEvery)) return 'unavailable';
  if (everyNth(page, options.slowEvery)) return 'slow';
  return 'ok';
}

/** Pages that `/page/<page>` links to; a few point past the last page, as real sites do. */
export function pageLinks(page: number, pages: number): number[] {
  const links = [page + 1, page * 2, ((page * 7) % (pages + 3)) + 1];
  return [...new Set(links)].filter((link) => link !== page);
}

function pageHtml(page: number, pages: number): string {
  const items = pageLinks(page, pages)
    .map((link) => `<li><a href="/page/${link}">Page ${link}</a></li>`)
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Page ${page}</title></head><body><h1>Page ${page}</h1><ul>${items}</ul></body></html>`;
}

export async function startSitePeer(given: SitePeerOptions = {}): Promise<Peer<SitePeerStats>> {
  const options = resolveOptions(given, sitePeerDefaults, {
    port: wholeNumber(0),
    pages: wholeNumber(1),
    slowEvery: wholeNumber(0),
    slowDelayMs: wholeNumber(0),
    unavailableEvery: wholeNumber(0),
    unavailableTimes: wholeNumber(0, true),
    missingEvery: wholeNumber(0),
    maxConcurrent: wholeNumber(1, true),
    minGapMs: wholeNumber(0),
  });
  const activity = new WorkerActivity();
  const unavailableServed = new Map<number, number>();
  const log: SiteRequestRecord[] = [];
  const counts = { ok: 0, slow: 0, notFound: 0, unavailable503: 0, rejected429: 0 };

  const stats = (): SitePeerStats => ({
    requests: log.length,
    ...counts,
    ...activity.stats(),
    log: log.map((record) => ({ ...record })),
  });

  return startHttpPeer(
    options.port,
    async ({ req, res, path, connectionId, arrivedAt, signal }) => {
      if (path === '/urls.txt') {
        const base = `http://${req.headers.host}`;
        const lines = Array.from(
          { length: options.pages },
          (_, index) => `${base}/page/${index + 1}`,
        );
        return sendText(res, 200, `${lines.join('\n')}\n`, 'text/plain; charset=utf-8');
      }
      const match = /^\/page\/(\d{1,9})$/.exec(path);
      if (!match) return sendText(res, 404, 'Not found\n', 'text/plain; charset=utf-8');
      const page = Number(match[1]);

      const name = req.headers['x-worker']?.toString() || `connection ${connectionId}`;
      // Counted from arrival until the response is handed to the socket (or the client leaves),
      // released synchronously so a client's next request can never overlap it in the records.
      const { gapMs, inFlight, release } = activity.arrive(name, arrivedAt);
      res.once('close', release);
      const answer = (status: number, send: () => void) => {
        log.push({ at: arrivedAt, worker: name, page, status });
        send();
        release();
      };

      if (inFlight > options.maxConcurrent || gapMs < options.minGapMs) {
        counts.rejected429 += 1;
        const reason = inFlight > options.maxConcurrent ? 'too many at once' : 'too fast';
        return answer(429, () => sendTooManyRequests(res, 1000, { error: reason }));
      }
      const html = (status: number, body: string) => () =>
        sendText(res, status, body, 'text/html; charset=utf-8');
      const kind = pageKind(page, options);
      const served503 = unavailableServed.get(page) ?? 0;
      if (kind === 'missing') {
        counts.notFound += 1;
        return answer(404, html(404, '<!doctype html><title>Not found</title>'));
      }
      if (kind === 'unavailable' && served503 < options.unavailableTimes) {
        unavailableServed.set(page, served503 + 1);
        counts.unavailable503 += 1;
        const body = '<!doctype html><title>Service unavailable</title>';
        return answer(503, () =>
          sendText(res, 503, body, 'text/html; charset=utf-8', { 'retry-after': 1 }),
        );
      }
      if (kind === 'slow') {
        counts.slow += 1;
        if (!(await pause(options.slowDelayMs, signal)) || res.destroyed) return release();
      }
      counts.ok += 1;
      answer(200, html(200, pageHtml(page, options.pages)));
    },
    stats,
  );
}

/**
 * The demo site of one job, at an address that stays the same from run to run, as a real site's
 * does: the URLs a run stores still reach it when `sluice retry` runs them again. The port comes
 * from the job's name (20000 to 29999, below the ports the system hands out to outgoing
 * connections). When another process of the same job (`sluice worker`) already serves it there,
 * that site is used.
 */
export async function startJobSite(
  job: string,
  given: Omit<SitePeerOptions, 'port'> = {},
  port = 20000 + (stableHash(`site:${job}`) % 10000),
): Promise<string> {
  try {
    return (await startSitePeer({ ...given, port })).url;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    const url = `http://127.0.0.1:${port}`;
    const health = await fetch(`${url}/health`).catch(() => undefined);
    if (health?.ok) return url;
    throw new Error(
      `Port ${port} of job ${job}'s demo site is taken by something else: set SITE_PORT to a free port, or SITE_URL to a site`,
    );
  }
}

if (isMainModule(import.meta.url)) await serveFromCommandLine(sitePeerDefaults, startSitePeer);
