import { expect, test } from 'vitest';
import { finished, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 2 });

const rows = 3000;
const batch = 50;
const cap = 3;

async function doneChunks(): Promise<number[]> {
  const [schema] = await db.sql`select to_regclass('sluice.tasks') as t`;
  if (!schema?.t) return [];
  const done = await db.sql<{ seq: number }[]>`
    select t.seq from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = 'crashed' and t.status = 'done' order by t.seq`;
  return done.map((row) => row.seq);
}

/** Chunks whose rows the job has started to process. */
async function visitedChunks(): Promise<number[]> {
  const [table] = await db.sql`select to_regclass('visits') as t`;
  if (!table?.t) return [];
  const seqs = await db.sql<{ seq: number }[]>`select distinct seq from visits order by seq`;
  return seqs.map((row) => row.seq);
}

test('SIGKILL mid-run, then run again: finished chunks are not read again, every row is done once', async () => {
  const env = {
    JOB_NAME: 'crashed',
    ROWS: String(rows),
    BATCH: String(batch),
    CAP: String(cap),
    SLEEP_MS: '100',
  };
  const args = ['run', 'test/fixtures/cursorJob.ts', '--database-url', db.url, '--json'];
  const victim = spawnSluice(args, env);
  const victimDone = finished(victim);
  // Kill it with some chunks finished and others half-way (rows visited, chunk not done).
  await waitFor(async () => {
    const done = await doneChunks();
    return done.length >= 10 && (await visitedChunks()).some((seq) => !done.includes(seq));
  });
  victim.kill('SIGKILL');
  expect((await victimDone).signal).toBe('SIGKILL');
  // The victim is dead, so this is exactly what had been checkpointed when it died.
  const doneBefore = await doneChunks();
  const halfWay = (await visitedChunks()).filter((seq) => !doneBefore.includes(seq));
  expect(doneBefore.length).toBeLessThan(rows / batch);
  expect(halfWay.length).toBeLessThanOrEqual(cap);

  const rerun = spawnSluice(args, env);
  const result = await finished(rerun);
  expect(result.code, result.stderr).toBe(0);
  const summary = JSON.parse(result.stdout.trim().split('\n').at(-1) as string);
  expect(summary).toMatchObject({ status: 'done', total: rows, done: rows, failed: 0 });

  // Finished chunks ran once, in the victim, and the rerun never read them.
  const finishedEarly = await db.sql<{ seq: number; n: number; pids: number[]; tries: number }[]>`
    select seq, count(*)::int as n, array_agg(distinct pid) as pids,
      count(distinct attempt)::int as tries
    from visits where seq = any(${doneBefore}::int[]) group by seq order by seq`;
  expect(finishedEarly.map((c) => c.seq)).toEqual(doneBefore);
  for (const chunk of finishedEarly) {
    expect(chunk).toMatchObject({ n: batch, pids: [victim.pid], tries: 1 });
  }
  // Exactly the chunks half-way at the kill were read again, whole.
  const [twice] = await db.sql<{ chunks: number[] }[]>`
    select coalesce(array_agg(distinct seq order by seq), '{}') as chunks from (
      select seq, id from visits group by seq, id having count(*) = 2) r`;
  expect(twice?.chunks).toEqual(halfWay);
  const [thrice] = await db.sql`
    select count(*)::int as n from (select 1 from visits group by id having count(*) > 2) r`;
  expect(thrice?.n).toBe(0);

  // In the end every row was processed exactly once: one successful outcome each, one result row.
  const [outcomes] = await db.sql`
    select count(*)::int as n, count(distinct o.item->>'id')::int as ids,
      count(*) filter (where not o.ok)::int as failed
    from sluice.outcomes o join sluice.jobs j on j.id = o.job_id where j.name = 'crashed'`;
  expect(outcomes).toEqual({ n: rows, ids: rows, failed: 0 });
  const [results] = await db.sql`
    select count(*)::int as n, count(distinct id)::int as ids from processed`;
  expect(results).toEqual({ n: rows, ids: rows });
  const [visited] = await db.sql`select count(distinct id)::int as ids from visits`;
  expect(visited?.ids).toBe(rows);
});
