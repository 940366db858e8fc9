import { afterEach, describe, expect, test } from 'vitest';
import type { Peer } from '../../examples/peers/httpPeer.ts';
import {
  complete,
  type LlmPeerOptions,
  type LlmPeerStats,
  promptTokens,
  startLlmPeer,
} from '../../examples/peers/llm.ts';
import { worstWindow } from '../../examples/peers/window.ts';
import { connectionRefused } from './connectionRefused.ts';

const started: Peer<LlmPeerStats>[] = [];

async function start(options: LlmPeerOptions = {}) {
  const peer = await startLlmPeer(options);
  started.push(peer);
  return peer;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((peer) => peer.close()));
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function post(peer: Peer<unknown>, body: unknown) {
  const response = await fetch(`${peer.url}/v1/complete`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

const promptNumber = (n: number) => `Summarise ticket ${n}: the export job timed out twice.`;
const costOf = (prompt: string, maxTokens = 64) => complete(prompt, maxTokens).usage.total_tokens;

describe('llm peer', () => {
  test('answers deterministically, with usage counted as documented', async () => {
    const peer = await start({ latencyMs: 50 });
    const before = performance.now();
    const first = await post(peer, { prompt: 'hello world', max_tokens: 50 });
    expect(performance.now() - before).toBeGreaterThanOrEqual(45);
    expect(first.status).toBe(200);
    expect(first.body).toEqual(complete('hello world', 50));
    const { usage, text } = first.body;
    expect(usage.prompt_tokens).toBe(promptTokens('hello world'));
    expect(usage.prompt_tokens).toBe(3);
    expect(usage.completion_tokens).toBeLessThanOrEqual(50);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
    expect(text.split(' ')).toHaveLength(usage.completion_tokens);
    expect((await post(peer, { prompt: 'hello world', max_tokens: 50 })).body).toEqual(first.body);
    expect((await post(peer, { prompt: 'hello world', max_tokens: 2 })).body.usage).toMatchObject({
      completion_tokens: 2,
    });
    expect(peer.stats()).toMatchObject({ accepted: 3, tokensUsed: 2 * usage.total_tokens + 5 });
  });

  test('refuses malformed requests with 400 and impossible ones with 413', async () => {
    const peer = await start({ tokensPerWindow: 500 });
    expect((await post(peer, '{not json')).status).toBe(400);
    expect((await post(peer, { max_tokens: 5 })).status).toBe(400);
    expect((await post(peer, { prompt: 'x', max_tokens: 0 })).status).toBe(400);
    expect((await post(peer, { prompt: 'x'.repeat(4000) })).status).toBe(413);
    expect((await fetch(`${peer.url}/v1/other`, { method: 'POST' })).status).toBe(404);
    expect(peer.stats()).toMatchObject({ badRequest: 3, tooLarge: 1, accepted: 0, rejected429: 0 });
  });

  test('holds the token budget in a scaled window, and Retry-After is enough to wait', async () => {
    const peer = await start({ tokensPerWindow: 1000, windowMs: 3000, latencyMs: 5 });
    let spent = 0;
    let n = 0;
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    for (; n < 100; n += 1) {
      const answer = await post(peer, { prompt: promptNumber(n), max_tokens: 64 });
      if (answer.status === 429) {
        refused = answer;
        break;
      }
      spent += answer.body.usage.total_tokens;
    }
    // Refused exactly when this prompt would have gone over, and not before.
    expect(spent).toBeLessThanOrEqual(1000);
    expect(spent + costOf(promptNumber(n))).toBeGreaterThan(1000);
    const seconds = Number(refused?.headers.get('retry-after'));
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThanOrEqual(3);
    expect(refused?.body.error.type).toBe('rate_limit');

    await sleep(seconds * 1000);
    expect((await post(peer, { prompt: promptNumber(n), max_tokens: 64 })).status).toBe(200);
    const stats = peer.stats();
    expect(stats).toMatchObject({ accepted: n + 1, rejected429: 1 });
    expect(stats.tokensUsed).toBe(spent + costOf(promptNumber(n)));
    expect(stats.worstWindowTokens).toBeLessThanOrEqual(1000);
    expect(stats.worstWindowTokens).toBe(worstWindow(stats.acceptedAt, 3000, stats.acceptedTokens));
  });

  test('a concurrent burst never goes over the budget, and wastes less than one request of it', async () => {
    const peer = await start({ tokensPerWindow: 1000, windowMs: 10_000 });
    const prompts = Array.from({ length: 30 }, (_, index) => promptNumber(index));
    const answers = await Promise.all(
      prompts.map((prompt) => post(peer, { prompt, max_tokens: 64 })),
    );
    const stats = peer.stats();
    expect(stats.accepted + stats.rejected429).toBe(30);
    expect(answers.filter((answer) => answer.status === 429)).toHaveLength(stats.rejected429);
    expect(stats.tokensUsed).toBeLessThanOrEqual(1000);
    expect(stats.worstWindowTokens).toBe(stats.tokensUsed);
    // Each refusal happened with less than its cost left, so little budget sat unused.
    const largest = Math.max(...prompts.map((prompt) => costOf(prompt)));
    expect(stats.tokensUsed).toBeGreaterThan(1000 - largest);
  });

  test('enforces requests per window when set', async () => {
    const peer = await start({ requestsPerWindow: 3, windowMs: 10_000 });
    const statuses: number[] = [];
    for (let n = 0; n < 5; n += 1) statuses.push((await post(peer, { prompt: `p${n}` })).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(peer.stats().worstWindowRequests).toBe(3);
  });

  test('close ends in-flight completions, and the port then refuses connections', async () => {
    const peer = await startLlmPeer({ latencyMs: 30_000 });
    const slow = post(peer, { prompt: 'wait' }).then(
      () => 'answered',
      () => 'dropped',
    );
    while (peer.stats().accepted === 0) await sleep(10);
    await peer.close();
    expect(await slow).toBe('dropped');
    expect(await connectionRefused(peer.port)).toBe(true);
  });
});
