import { afterEach, describe, expect, test } from 'vitest';
import type { Peer } from '../../examples/peers/httpPeer.ts';
import {
  pageKind,
  type SitePeerOptions,
  type SitePeerStats,
  startSitePeer,
} from '../../examples/peers/site.ts';
import { connectionRefused } from './connectionRefused.ts';

const started: Peer<SitePeerStats>[] = [];

async function start(options: SitePeerOptions = {}) {
  const peer = await startSitePeer(options);
  started.push(peer);
  return peer;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((peer) => peer.close()));
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function get(url: string, worker?: string) {
  const response = await fetch(url, { headers: worker ? { 'x-worker': worker } : {} });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe('site peer', () => {
  test('lists every page in /urls.txt; pages have titles and links', async () => {
    const peer = await start({ pages: 60 });
    const urls = (await get(`${peer.url}/urls.txt`)).text.trim().split('\n');
    expect(urls).toHaveLength(60);
    expect(urls[0]).toBe(`${peer.url}/page/1`);
    expect(urls[59]).toBe(`${peer.url}/page/60`);

    const page = await get(`${peer.url}/page/1`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.text).toContain('<title>Page 1</title>');
    expect(page.text).toMatch(/<a href="\/page\/2">/);
  });

  test('slow, unavailable and missing pages behave as designed', async () => {
    const peer = await start({ pages: 60, slowDelayMs: 200 });
    expect([7, 13, 50, 61, 91, 100].map((page) => pageKind(page, { pages: 100 }))).toEqual([
      'slow',
      'unavailable',
      'missing',
      'ok',
      'unavailable',
      'missing',
    ]);

    const before = performance.now();
    const slow = await get(`${peer.url}/page/7`);
    expect(slow.status).toBe(200);
    expect(slow.text).toContain('<title>Page 7</title>');
    expect(performance.now() - before).toBeGreaterThanOrEqual(195);

    const down = await get(`${peer.url}/page/13`);
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    expect((await get(`${peer.url}/page/13`)).status).toBe(503);
    expect((await get(`${peer.url}/page/50`)).status).toBe(404);
    expect((await get(`${peer.url}/page/61`)).status).toBe(404);
    expect((await get(`${peer.url}/page/x`)).status).toBe(404);

    expect(peer.stats()).toMatchObject({
      requests: 5,
      ok: 1,
      slow: 1,
      unavailable503: 2,
      notFound: 2,
      rejected429: 0,
    });
  });

  test('an unavailable page can recover after `unavailableTimes` 503s', async () => {
    const peer = await start({ unavailableTimes: 1 });
    expect((await get(`${peer.url}/page/26`)).status).toBe(503);
    expect((await get(`${peer.url}/page/26`)).status).toBe(200);
  });

  test('more than maxConcurrent requests at once get 429, and the peer records the attempt', async () => {
    // Slow enough that all six are in progress together, even on a loaded machine.
    const peer = await start({ maxConcurrent: 3, slowDelayMs: 1500 });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, index) => get(`${peer.url}/page/7`, `w${index}`)),
    );
    const refused = results.filter((result) => result.status === 429);
    expect(results.filter((result) => result.status === 200)).toHaveLength(3);
    expect(refused).toHaveLength(3);
    for (const result of refused) expect(result.headers.get('retry-after')).toBe('1');
    const stats = peer.stats();
    expect(stats.maxInFlight).toBe(4);
    expect(stats.rejected429).toBe(3);
    expect(stats.maxInFlightPerWorker).toBe(1);
  });

  test('records per-worker pacing and concurrency, keyed by X-Worker', async () => {
    const peer = await start({ slowDelayMs: 1000 });
    const politeWorker = async (name: string) => {
      for (let page = 1; page <= 4; page += 1) {
        await get(`${peer.url}/page/${page}`, name);
        await sleep(150);
      }
    };
    await Promise.all([politeWorker('a'), politeWorker('b')]);
    // Two slow pages at once, so the second surely arrives while the first is still in progress.
    await Promise.all([get(`${peer.url}/page/7`, 'greedy'), get(`${peer.url}/page/14`, 'greedy')]);

    const stats = peer.stats();
    expect(stats.workers.a).toMatchObject({ requests: 4, maxInFlight: 1 });
    expect(stats.workers.b).toMatchObject({ requests: 4, maxInFlight: 1 });
    // Each gap holds a whole round trip plus the 150 ms sleep; timers may fire a little early.
    expect(stats.workers.a?.minGapMs).toBeGreaterThanOrEqual(145);
    expect(stats.workers.b?.minGapMs).toBeGreaterThanOrEqual(145);
    // The span runs from the first arrival to the last: three gaps.
    expect(stats.workers.a?.spanMs).toBeGreaterThanOrEqual(3 * 145);
    expect(stats.workers.a?.spanMs).toBeGreaterThanOrEqual(3 * (stats.workers.a?.minGapMs ?? 0));
    expect(stats.workers.greedy?.maxInFlight).toBe(2);
    expect(stats.maxInFlightPerWorker).toBe(2);
    expect(stats.minGapMs).toBe(stats.workers.greedy?.minGapMs);
    expect(stats.log.filter((record) => record.worker === 'a').map((r) => r.page)).toEqual([
      1, 2, 3, 4,
    ]);
  });

  test('without X-Worker, a worker is the connection it used', async () => {
    const peer = await start();
    await get(`${peer.url}/page/1`);
    expect(Object.keys(peer.stats().workers)[0]).toMatch(/^connection \d+$/);
  });

  test('minGapMs, when set, refuses a worker that asks too soon', async () => {
    const peer = await start({ minGapMs: 200 });
    expect((await get(`${peer.url}/page/1`, 'w')).status).toBe(200);
    const tooSoon = await get(`${peer.url}/page/2`, 'w');
    expect(tooSoon.status).toBe(429);
    expect(tooSoon.headers.get('retry-after')).toBe('1');
    await sleep(250);
    expect((await get(`${peer.url}/page/3`, 'w')).status).toBe(200);
  });

  test('close cancels slow pages at once, and the port then refuses connections', async () => {
    const peer = await startSitePeer({ slowDelayMs: 30_000 });
    const slow = get(`${peer.url}/page/7`).then(
      () => 'answered',
      () => 'dropped',
    );
    while (peer.stats().slow === 0) await sleep(10);
    await peer.close();
    expect(await slow).toBe('dropped');
    expect(await connectionRefused(peer.port)).toBe(true);
  });
});
