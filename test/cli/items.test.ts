import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
let dir: string;
const job = 'test/fixtures/itemsJob.ts';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-items-'));
});

const lines = async (path: string) =>
  (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));

test('every item gets an outcome in the JSONL manifest, and --failed-only re-runs just the failures', async () => {
  const out = join(dir, 'results.jsonl');
  const env = { JOB_NAME: 'enrich', ITEMS: '100', CHUNK: '10', FAIL_EVERY: '7' };
  const run = await runSluice(['run', job, '--database-url', db.url, '--out', out], env);
  expect(run.code, run.stderr).toBe(3);
  expect(run.stdout).toContain('Batch complete: 86/100 items, 14 failed (14.0%)');

  const first = await lines(out);
  expect(first).toHaveLength(100);
  // Lines land in the order chunks finish.
  const failures = first.filter((line) => !line.ok).sort((a, b) => a.item - b.item);
  expect(failures.map((line) => line.item)).toEqual([
    7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 91, 98,
  ]);
  expect(failures[0]).toMatchObject({ job: 'enrich', status: 503, error: 'item 7 is unavailable' });
  expect(first.find((line) => line.item === 8)).toMatchObject({ ok: true, value: { double: 16 } });

  await db.sql`truncate seen`;
  const retry = await runSluice(
    ['retry', job, '--failed-only', '--database-url', db.url, '--out', out, '--json'],
    {
      ...env,
      FAIL_EVERY: '0',
    },
  );
  expect(retry.code, retry.stderr).toBe(0);
  const streamed = retry.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const summary = streamed.pop();
  expect(summary).toMatchObject({ status: 'done', total: 100, done: 100, failed: 0 });
  // Results streamed to stdout as they finished, one line per retried item.
  expect(streamed).toHaveLength(14);
  const [seen] =
    await db.sql`select count(*)::int as n, array_agg(n order by n) as items from seen`;
  expect(seen?.items).toEqual(failures.map((line) => line.item));

  const after = await lines(out);
  expect(after).toHaveLength(114);
  expect(after.slice(100).every((line) => line.ok)).toBe(true);
});

test('a chunk that throws is retried whole, then every one of its items fails', async () => {
  const out = join(dir, 'broken.jsonl');
  await db.sql`truncate seen`;
  const run = await runSluice(['run', job, '--database-url', db.url, '--out', out], {
    JOB_NAME: 'broken-chunk',
    ITEMS: '30',
    CHUNK: '10',
    THROW_ON: '15',
  });
  expect(run.code, run.stderr).toBe(3);
  expect(run.stdout).toContain('Batch complete: 20/30 items, 10 failed (33.3%)');
  const failures = (await lines(out)).filter((line) => !line.ok);
  expect(failures.map((line) => line.item).sort((a, b) => a - b)).toEqual([
    11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
  ]);
  expect(failures.every((line) => line.error === 'chunk with 15 broke')).toBe(true);
  // Two attempts (the job's retry.attempts), each saw the whole chunk.
  const [tries] = await db.sql`select count(*)::int as n from seen where n = 15`;
  expect(tries?.n).toBe(2);
});

test('items stream from JSONL, CSV and gzip files', async () => {
  const jsonl = join(dir, 'items.jsonl.gz');
  await writeFile(
    jsonl,
    gzipSync(Array.from({ length: 25 }, (_, i) => JSON.stringify({ n: i + 1 })).join('\n')),
  );
  const csv = join(dir, 'items.csv');
  await writeFile(
    csv,
    `n,name\n${Array.from({ length: 25 }, (_, i) => `${i + 1},"item, ${i + 1}"`).join('\n')}\n`,
  );
  for (const [name, file] of [
    ['from-jsonl', jsonl],
    ['from-csv', csv],
  ] as const) {
    const run = await runSluice(['run', job, '--database-url', db.url, '--json'], {
      JOB_NAME: name,
      ITEMS_FILE: file,
    });
    expect(run.code, run.stderr).toBe(0);
    const outcomes = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const summary = outcomes.pop();
    expect(summary).toMatchObject({ total: 25, done: 25, tasks: { total: 3, done: 3, failed: 0 } });
    expect(outcomes.map((o) => Number(o.item.n)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
  }
  const [csvItem] =
    await db.sql`select item from sluice.outcomes o join sluice.jobs j on j.id = o.job_id
    where j.name = 'from-csv' and o.idx = 0 and o.task_seq = 0`;
  expect(csvItem?.item).toEqual({ n: '1', name: 'item, 1' });
});

test('each worker runs setup once and teardown once, and reuses its resource', async () => {
  await db.sql`truncate setups, seen`;
  const run = await runSluice(['run', job, '--database-url', db.url], {
    JOB_NAME: 'hooks',
    ITEMS: '200',
    CHUNK: '5',
  });
  expect(run.code, run.stderr).toBe(0);
  const events =
    await db.sql`select event, count(*)::int as n from setups group by event order by event`;
  expect(events).toEqual([
    { event: 'setup', n: 3 },
    { event: 'teardown', n: 3 },
  ]);
  const [workers] = await db.sql`select count(distinct worker)::int as n from seen`;
  expect(workers?.n).toBe(3);
});

test('a malformed line or an unreadable file is refused with its place, and nothing is planned', async () => {
  const bad = join(dir, 'bad.jsonl');
  await writeFile(bad, '{"n": 1}\n{"n": 2}\n{"n": 3\n{"n": 4}\n');
  const malformed = await runSluice(['run', job, '--database-url', db.url], {
    JOB_NAME: 'bad',
    ITEMS_FILE: bad,
  });
  expect(malformed.code).toBe(2);
  expect(malformed.stderr.trim()).toMatch(new RegExp(`^sluice: ${bad}:3: malformed JSON line`));
  const missing = await runSluice(['run', job, '--database-url', db.url], {
    JOB_NAME: 'bad',
    ITEMS_FILE: join(dir, 'nope.txt'),
  });
  expect(missing.code).toBe(2);
  expect(missing.stderr.trim()).toBe(`sluice: Cannot read \`${join(dir, 'nope.txt')}\`: ENOENT`);
  const notGzip = join(dir, 'plain.txt.gz');
  await writeFile(notGzip, '1\n2\n');
  const wrongFormat = await runSluice(['run', job, '--database-url', db.url], {
    JOB_NAME: 'bad',
    ITEMS_FILE: notGzip,
  });
  expect(wrongFormat.code).toBe(2);
  expect(wrongFormat.stderr).toContain('is not gzip data');
  const [jobs] = await db.sql`select count(*)::int as n from sluice.jobs where name = 'bad'`;
  expect(jobs?.n).toBe(0);
});
