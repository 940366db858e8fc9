import { afterEach, describe, expect, test } from 'vitest';
import {
  type ApiPeerOptions,
  type ApiPeerStats,
  startApiPeer,
  userProfile,
} from '../../examples/peers/api.ts';
import type { Peer } from '../../examples/peers/httpPeer.ts';
import { worstWindow } from '../../examples/peers/window.ts';
import { connectionRefused } from './connectionRefused.ts';

const headers = { authorization: 'Bearer test-token' };
const started: Peer<ApiPeerStats>[] = [];

async function start(options: ApiPeerOptions = {}) {
  const peer = await startApiPeer(options);
  started.push(peer);
  return peer;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((peer) => peer.close()));
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('api peer', () => {
  test('serves the same profile for an id every time, 404 for missing ids, 401 without the token', async () => {
    const peer = await start({ token: 'secret' });
    const auth = { authorization: 'Bearer secret' };
    const first = await fetch(`${peer.url}/v1/users/42`, { headers: auth });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual(userProfile(42));
    expect(userProfile(42)).toMatchObject({ id: 42, email: expect.stringContaining('.42@') });

    for (const id of ['997', '1994', '0', 'abc', '007']) {
      expect((await fetch(`${peer.url}/v1/users/${id}`, { headers: auth })).status).toBe(404);
    }
    expect((await fetch(`${peer.url}/v1/users/1`)).status).toBe(401);
    const wrong = await fetch(`${peer.url}/v1/users/1`, { headers });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer');
    expect((await fetch(`${peer.url}/health`)).status).toBe(200);

    const stats = peer.stats();
    expect(stats).toMatchObject({ accepted: 6, notFound: 5, unauthorized: 2, rejected429: 0 });
    const overHttp = await (await fetch(`${peer.url}/stats`)).json();
    expect(overHttp).toEqual(stats);
  });

  test('a burst of twice the quota gets exactly the quota; the rest get 429 with Retry-After', async () => {
    // A long window, so that the whole burst lands inside one even on a loaded machine.
    const peer = await start({ requestsPerWindow: 20, windowMs: 10_000 });
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        fetch(`${peer.url}/v1/users/${index + 1}`, { headers }),
      ),
    );
    const refused = responses.filter((response) => response.status === 429);
    expect(responses.filter((response) => response.status === 200)).toHaveLength(20);
    expect(refused).toHaveLength(20);
    for (const response of refused) {
      const seconds = Number(response.headers.get('retry-after'));
      expect(Number.isInteger(seconds)).toBe(true);
      expect(seconds).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThanOrEqual(10);
      expect(Number(response.headers.get('retry-after-ms'))).toBeLessThanOrEqual(10_000);
    }
    await Promise.all(responses.map((response) => response.arrayBuffer()));
    expect(peer.stats()).toMatchObject({ accepted: 20, rejected429: 20, worstWindow: 20 });
  });

  test('under sustained overload no sliding second holds more than the quota, and 429s cost nothing', async () => {
    const quota = 25;
    const peer = await start({ requestsPerWindow: quota });
    const deadline = performance.now() + 15_000;
    // If refused requests counted, constant hammering would keep the window full forever and
    // `accepted` would stop at the quota; getting past it proves they are not counted.
    const hammer = async () => {
      while (peer.stats().accepted <= quota && performance.now() < deadline) {
        await (await fetch(`${peer.url}/v1/users/5`, { headers })).arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 6 }, hammer));

    const stats = peer.stats();
    expect(stats.accepted).toBeGreaterThan(quota);
    expect(stats.rejected429).toBeGreaterThan(0);
    expect(worstWindow(stats.acceptedAt, 1000)).toBeLessThanOrEqual(quota);
    expect(stats.worstWindow).toBe(worstWindow(stats.acceptedAt, 1000));
  });

  test('Retry-After is honoured: after waiting it, requests succeed again', async () => {
    const peer = await start({ requestsPerWindow: 5, windowMs: 2000 });
    for (let id = 1; id <= 5; id += 1) {
      expect((await fetch(`${peer.url}/v1/users/${id}`, { headers })).status).toBe(200);
    }
    const refused = await fetch(`${peer.url}/v1/users/6`, { headers });
    expect(refused.status).toBe(429);
    const seconds = Number(refused.headers.get('retry-after'));
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThanOrEqual(2);
    expect(await refused.json()).toMatchObject({ error: 'rate_limited' });

    await sleep(seconds * 1000);
    expect((await fetch(`${peer.url}/v1/users/6`, { headers })).status).toBe(200);
    expect(peer.stats()).toMatchObject({ accepted: 6, rejected429: 1 });
  });

  test('a client that waits Retry-After-Ms is never refused twice in a row', async () => {
    const peer = await start({ requestsPerWindow: 5, windowMs: 500 });
    let refusedTwice = 0;
    for (let id = 1; id <= 15; id += 1) {
      let refusedBefore = false;
      for (;;) {
        const response = await fetch(`${peer.url}/v1/users/${id}`, { headers });
        await response.arrayBuffer();
        if (response.status === 200) break;
        if (refusedBefore) refusedTwice += 1;
        refusedBefore = true;
        // Node timers can fire up to a millisecond early against performance.now().
        await sleep(Number(response.headers.get('retry-after-ms')) + 2);
      }
    }
    const stats = peer.stats();
    expect(refusedTwice).toBe(0);
    expect(stats.accepted).toBe(15);
    expect(stats.worstWindow).toBeLessThanOrEqual(5);
  });

  test('close ends keep-alive and in-flight requests, and the port then refuses connections', async () => {
    const peer = await startApiPeer({ latencyMs: 30_000 });
    expect((await fetch(`${peer.url}/health`)).status).toBe(200);
    const stuck = fetch(`${peer.url}/v1/users/1`, { headers }).then(
      () => 'answered',
      () => 'dropped',
    );
    while (peer.stats().accepted === 0) await sleep(10);
    await peer.close();
    await peer.close();
    expect(await stuck).toBe('dropped');
    expect(await connectionRefused(peer.port)).toBe(true);
  });

  test('refuses bad options with one clear message', async () => {
    await expect(startApiPeer({ requestsPerWindow: 0 })).rejects.toThrow(
      'Expected `requestsPerWindow` to be a whole number >= 1, got `0` (number)',
    );
    await expect(startApiPeer({ token: '' })).rejects.toThrow('Expected `token`');
    await expect(startApiPeer({ quota: 5 } as ApiPeerOptions)).rejects.toThrow(
      'Unknown option `quota`',
    );
  });
});
