import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-scrape-retry-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Line {
  item: string;
  ok: boolean;
  status?: number;
  error?: string;
  value?: { title: string };
}

const page = (line: Line) => Number(line.item.split('/').pop());

test('retry --failed-only reaches the demo site again: the stored URLs still point at it', async () => {
  const out = join(dir, 'titles.jsonl');
  const args = ['examples/scrape-titles.ts', '--database-url', db.url, '--out', out];
  // No SITE_URL: the example starts its own demo site in each run, as a newcomer runs it. Pages
  // 13, 26 and 39 answer 503 more often than the job tries, and page 50 is missing.
  const env = { JOB_NAME: 'scrape-retry', PAGES: '51', PACE_MS: '1', JITTER_MS: '0' };
  const first = await runSluice(['run', ...args], { ...env, UNAVAILABLE_TIMES: '3' });
  expect(first.code, first.stderr).toBe(3);
  const firstLines = (await readFile(out, 'utf8')).trim().split('\n');
  const failed = firstLines.map((text) => JSON.parse(text) as Line).filter((line) => !line.ok);
  expect(failed.map(page).sort((a, b) => a - b)).toEqual([13, 26, 39, 50]);

  // The site has recovered by the retry: the 503 pages answer, and page 50 is still missing.
  const retry = await runSluice(['retry', ...args, '--failed-only'], {
    ...env,
    UNAVAILABLE_TIMES: '0',
  });
  expect(retry.code, retry.stderr).toBe(3);
  const retried = (await readFile(out, 'utf8'))
    .trim()
    .split('\n')
    .slice(firstLines.length)
    .map((text) => JSON.parse(text) as Line)
    .sort((a, b) => page(a) - page(b));
  expect(retried.map((line) => line.item)).toEqual(
    failed
      .map((line) => line.item)
      .sort((a, b) => Number(a.split('/').pop()) - Number(b.split('/').pop())),
  );
  expect(retried.slice(0, 3)).toEqual([
    expect.objectContaining({ ok: true, value: expect.objectContaining({ title: 'Page 13' }) }),
    expect.objectContaining({ ok: true, value: expect.objectContaining({ title: 'Page 26' }) }),
    expect.objectContaining({ ok: true, value: expect.objectContaining({ title: 'Page 39' }) }),
  ]);
  expect(retried[3]).toMatchObject({
    ok: false,
    status: 404,
    error: `not found: ${failed.find((line) => page(line) === 50)?.item}`,
  });
  expect(retry.stdout).toContain('Batch complete: 50/51 items, 1 failed (2.0%)');
});
