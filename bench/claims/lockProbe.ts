// Does anything wait on a claim's locks? One connection claims a task and keeps its transaction
// open; meanwhile another completes a task claimed before, inserts an outcome row (a foreign key
// to the job row, as sluice.outcomes has), and a third claims. Each runs with a lock_timeout, so
// one that waits reports so instead of hanging.
import type { Sql } from 'postgres';
import type { Design } from './design.ts';

const lockTimeoutMs = 300;

export interface ProbeResult {
  design: string;
  complete: string;
  outcomeInsert: string;
  secondClaim: string;
}

async function timed(sql: Sql, action: () => Promise<unknown>): Promise<string> {
  await sql.unsafe(`set lock_timeout = '${lockTimeoutMs}ms'`);
  const started = performance.now();
  try {
    await action();
    return `no (${(performance.now() - started).toFixed(1)} ms)`;
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') return `**waits** (> ${lockTimeoutMs} ms)`;
    throw error;
  } finally {
    await sql.unsafe('reset lock_timeout');
  }
}

class Rollback extends Error {}

export async function probeLocks(
  design: Design,
  admin: Sql,
  [holder, other, third]: readonly Sql[],
): Promise<ProbeResult> {
  if (!(holder && other && third)) throw new Error('the lock probe needs three connections');
  const jobId = await design.createJob(100, 10);
  const before = await design.claim(other, jobId, 2);
  if (!before) throw new Error(`${design.key}: the probe's first claim found nothing`);
  const result: ProbeResult = {
    design: design.key,
    complete: '',
    outcomeInsert: '',
    secondClaim: '',
  };
  await holder
    .begin(async (tx) => {
      if (!(await design.claim(tx, jobId, 1))) throw new Error('the holding claim found nothing');
      result.complete = await timed(other, () => design.complete(other, jobId, before));
      result.outcomeInsert = await timed(other, () =>
        other.unsafe(
          `insert into ${design.schema}.outcomes (job_id, task_seq, idx, item, ok, attempt)
           values ($1, $2, 0, '{}', true, 1)`,
          [jobId, before.seq],
        ),
      );
      result.secondClaim = await timed(third, () => design.claim(third, jobId, 3));
      throw new Rollback();
    })
    .catch((error) => {
      if (!(error instanceof Rollback)) throw error;
    });
  await admin.unsafe(`delete from ${design.schema}.jobs where id = $1`, [jobId]);
  return result;
}
