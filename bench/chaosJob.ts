// The job of the chaos suite (bench/chaos.ts): a cursor over `chaos_source` whose every chunk is
// written to `chaos_target` with `upsert`. A trigger on the target counts each application of a
// row, so a chunk applied twice shows as `applications > 1`. Each attempt records where and when
// it ran in `chaos_attempts`, on a connection of its own (it must survive a rolled-back task), so
// the suite can tell which attempts a kill cut. Rows whose `note` is 'poison' throw PermanentError.
//
//   CHAOS_JOB (chaos), CHAOS_BATCH rows per chunk (5000), CHAOS_CAP (6), CHAOS_TASK_MS paced work
//   per chunk (5000), CHAOS_TRANSACTIONAL=1 for `transactional: true`.
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres, { type Sql } from 'postgres';
import { cursor, defineJob, failed, type Outcome, PermanentError, succeeded, upsert } from 'sluice';

const env = process.env;
const upsertBatch = 1000;
const taskMs = Number(env.CHAOS_TASK_MS ?? 5000);

interface Row {
  id: number;
  v: number;
  note: string | null;
}

/** What one row becomes; the suite's ground truth computes the same in SQL (`v * 3 + 1`). */
function transform(row: Row): { id: number; v: number } {
  if (row.note === 'poison') throw new PermanentError(`poison row ${row.id}`);
  return { id: row.id, v: row.v * 3 + 1 };
}

export default defineJob({
  name: env.CHAOS_JOB ?? 'chaos',
  source: cursor<Row>({
    table: 'chaos_source',
    key: 'id',
    batchSize: Number(env.CHAOS_BATCH ?? 5000),
    columns: ['id', 'v', 'note'],
  }),
  maxParallelism: Number(env.CHAOS_CAP ?? 6),
  // Every reclaim after a kill spends an attempt; 20 kills must not fail a task for good.
  retry: { attempts: 50, baseMs: 200, maxMs: 2000 },
  transactional: env.CHAOS_TRANSACTIONAL === '1',
  // The attempt log's own connection: ctx.sql may be a transaction a kill rolls back.
  setup: (): Sql =>
    postgres(env.DATABASE_URL as string, { max: 1, onnotice: () => {}, idle_timeout: 30 }),
  teardown: (log: Sql) => log.end({ timeout: 1 }),
  async run(rows, { sql, resource: log, index, attempt, signal }) {
    const [entry] = await log<{ id: string }[]>`
      insert into chaos_attempts (seq, attempt, pid, first_id, last_id, rows)
      values (${index}, ${attempt}, ${process.pid}, ${rows[0]?.id ?? null}, ${rows.at(-1)?.id ?? null},
        ${rows.length})
      returning id`;
    try {
      const outcomes = await work(rows, sql, signal);
      await endAttempt(log, entry?.id, new Date());
      return outcomes;
    } catch (error) {
      // Cut short (aborted as its process lost the database, say): the attempt ends now. The
      // database may be away, so the end goes to a file the suite reads, written before anything
      // else can happen to this process.
      if (env.CHAOS_ENDS_FILE) appendFileSync(env.CHAOS_ENDS_FILE, `${entry?.id} ${Date.now()}\n`);
      throw error;
    }
  },
});

/** Transforms a chunk's rows and writes them in paced batches; returns their outcomes. */
async function work(rows: Row[], sql: Sql, signal: AbortSignal): Promise<Outcome<Row>[]> {
  const outcomes: Outcome<Row>[] = [];
  const good: { id: number; v: number }[] = [];
  for (const row of rows) {
    try {
      good.push(transform(row));
      outcomes.push(succeeded(row));
    } catch (error) {
      if (!(error instanceof PermanentError)) throw error;
      outcomes.push(failed(row, error));
    }
  }
  // Paced batches: a kill lands between them, after some rows are written and before the
  // chunk's completion is, which is what re-applies rows in a plain (non-transactional) job.
  const pause = taskMs / Math.max(1, Math.ceil(good.length / upsertBatch));
  for (let start = 0; start < good.length; start += upsertBatch) {
    await sleep(pause, undefined, { signal });
    await upsert(sql, 'chaos_target', good.slice(start, start + upsertBatch), {
      key: ['id'],
      update: 'all',
    });
  }
  return outcomes;
}

async function endAttempt(log: Sql, id: string | undefined, at: Date): Promise<void> {
  await log`update chaos_attempts set ended_at = ${at} where id = ${id ?? 0}`;
}
