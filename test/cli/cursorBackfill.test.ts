import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 2 });

/** The backfill's result computed by PostgreSQL alone, next to what the job wrote. */
async function compare() {
  const [row] = await db.sql`
    with truth as (
      select id as article_id,
        trim(both '-' from regexp_replace(lower(title), '[^a-z0-9]+', '-', 'g')) as slug,
        array_length(regexp_split_to_array(trim(body), '\\s+'), 1) as words
      from articles)
    select (select count(*)::int from article_stats) as written,
      (select count(*)::int from truth t full join article_stats s using (article_id)
       where s is null or t is null or s.slug <> t.slug or s.words <> t.words) as wrong,
      (select md5(string_agg(concat_ws(':', article_id, slug, words), ',' order by article_id))
       from article_stats) as digest`;
  return row as { written: number; wrong: number; digest: string };
}

test('examples/cursor-backfill.ts backfills every article once, and a rerun writes the same rows', async () => {
  const args = ['run', 'examples/cursor-backfill.ts', '--database-url', db.url, '--json'];
  const run = await runSluice(args);
  expect(run.code, run.stderr).toBe(0);
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
  expect(summary).toMatchObject({
    job: 'cursor-backfill',
    status: 'done',
    total: 100_000,
    done: 100_000,
    failed: 0,
    unit: 'rows',
  });
  expect(summary.tasks).toEqual({ total: 50, done: 50, failed: 0 });
  const first = await compare();
  expect(first).toMatchObject({ written: 100_000, wrong: 0 });
  // 40,000 articles share one updated_at, so most boundaries of the first 20 chunks fall inside it.
  const [shared] = await db.sql`
    select count(*)::int as n from articles group by updated_at order by n desc limit 1`;
  expect(shared?.n).toBe(40_000);

  const again = await runSluice([...args, '--rerun']);
  expect(again.code, again.stderr).toBe(0);
  const replay = JSON.parse(again.stdout.trim().split('\n').at(-1) as string);
  expect(replay).toMatchObject({ status: 'done', done: 100_000, alreadyFinished: false });
  expect(await compare()).toEqual(first);
});
