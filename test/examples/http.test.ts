import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startApiPeer } from '../../examples/peers/api.ts';
import { startLlmPeer } from '../../examples/peers/llm.ts';
import { startSitePeer } from '../../examples/peers/site.ts';
import { finished, runSluice, spawnSluice } from '../support/cli.ts';
import { createTestDatabase } from '../support/db.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'sluice-http-'));
});

afterAll(() => db.drop());

const jsonLines = async (path: string) =>
  (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));

test('api-enrichment: two processes share one global rate below the quota; the API sees no 429', async () => {
  const api = await startApiPeer({ requestsPerWindow: 400 });
  try {
    const out = join(dir, 'profiles.jsonl');
    const env = {
      API_URL: api.url,
      USERS: '3000',
      USER_IDS_FILE: join(dir, 'ids.txt'),
      RATE: '360',
    };
    const args = ['run', 'examples/api-enrichment.ts', '--database-url', db.url];
    // The first run writes the ids file in `prepare`; the second process joins the same job.
    const first = spawnSluice([...args, '--out', out], env);
    await new Promise((r) => setTimeout(r, 1500));
    const second = spawnSluice(args, env);
    const [a, b] = await Promise.all([finished(first), finished(second)]);
    // Ids divisible by 997 do not exist: 3 of them fail with 404, so the job ends with failures.
    expect(a.code, a.stderr).toBe(3);
    expect(b.code, b.stderr).toBe(3);
    const stats = api.stats();
    expect(stats.rejected429).toBe(0);
    expect(stats.worstWindow).toBeLessThanOrEqual(400);
    // sluice releases at most 360 a second; arrivals at the server can bunch by a request or two,
    // since each takes its own path through two event loops.
    expect(stats.worstWindow).toBeLessThanOrEqual(360 * 1.02);
    expect(stats.accepted).toBe(3000);
    expect(a.stdout).toContain('Batch complete: 2997/3000 items, 3 failed (0.1%)');
    const lines = await jsonLines(out);
    const failures = lines.filter((line) => !line.ok);
    expect(failures.every((line) => line.status === 404)).toBe(true);
  } finally {
    await api.close();
  }
});

test('scrape-titles: per-worker pacing, a worker cap, and a failure per bad URL', async () => {
  const site = await startSitePeer({ pages: 60, unavailableTimes: 1, slowDelayMs: 100 });
  try {
    const out = join(dir, 'titles.jsonl');
    const run = await runSluice(
      ['run', 'examples/scrape-titles.ts', '--database-url', db.url, '--out', out],
      {
        SITE_URL: site.url,
        WORKERS: '3',
        PACE_MS: '150',
        JITTER_MS: '100',
      },
    );
    expect(run.code, run.stderr).toBe(3);
    const stats = site.stats();
    expect(stats.maxInFlight).toBeLessThanOrEqual(3);
    expect(stats.rejected429).toBe(0);
    // The site sees arrivals, which carry both event loops' delays: one late arrival followed by
    // one on time makes a short gap (loaded runs saw 124.7 ms of 150). So the pace is checked
    // over each worker's whole span, and each gap only loosely; without pacing gaps are a few ms.
    for (const worker of Object.values(stats.workers)) {
      expect(worker.spanMs).toBeGreaterThanOrEqual((worker.requests - 1) * 150 - 100);
      if (worker.requests > 1) expect(worker.minGapMs).toBeGreaterThanOrEqual(75);
    }
    const lines = await jsonLines(out);
    expect(lines).toHaveLength(60);
    const titles = lines.filter((line) => line.ok).map((line) => line.value.title);
    expect(titles).toContain('Page 1');
    // Page 50 is missing (404): failed at once. Page 13 answered 503 once, then succeeded.
    expect(lines.find((line) => line.item.endsWith('/page/50'))).toMatchObject({
      ok: false,
      status: 404,
    });
    expect(lines.find((line) => line.item.endsWith('/page/13'))).toMatchObject({ ok: true });
  } finally {
    await site.close();
  }
});

test('llm-batch: the token budget holds, so the provider never answers 429', async () => {
  // The provider allows 1,000 tokens in any second (60,000 a minute); the job takes 80% of it.
  const llm = await startLlmPeer({ tokensPerWindow: 1000, windowMs: 1000, latencyMs: 5 });
  try {
    const out = join(dir, 'answers.jsonl');
    const run = await runSluice(
      ['run', 'examples/llm-batch.ts', '--database-url', db.url, '--out', out],
      {
        LLM_URL: llm.url,
        PROMPTS: '60',
        PROMPTS_FILE: join(dir, 'prompts.jsonl'),
        TOKENS_PER_MINUTE: '60000',
        BUDGET_SHARE: '0.8',
      },
    );
    expect(run.code, run.stderr).toBe(0);
    const stats = llm.stats();
    expect(stats.rejected429).toBe(0);
    expect(stats.accepted).toBe(60);
    expect(stats.worstWindowTokens).toBeLessThanOrEqual(1000);
    expect(await jsonLines(out)).toHaveLength(60);
  } finally {
    await llm.close();
  }
});
