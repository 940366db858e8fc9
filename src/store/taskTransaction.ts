import { randomInt } from 'node:crypto';
import type { Sql } from 'postgres';
import type { Outcome } from '../job/outcome.ts';
import { type Claim, completeTask, saveCheckpoint } from './outcome.ts';
import { recordChunk } from './outcomes.ts';

/** How a task records that it finished: through the store, or inside its own transaction. */
export interface TaskWrites {
  complete(claim: Claim, report: unknown): Promise<boolean>;
  recordChunk(
    claim: Claim,
    attempt: number,
    outcomes: readonly Outcome[],
    failure?: Error,
    keys?: readonly string[],
  ): Promise<boolean>;
  checkpoint(claim: Claim, cursor: unknown): Promise<boolean>;
}

/**
 * Runs one attempt of a transactional task on the worker's own connection: `begin`, the job's
 * writes and then the task's completion (both inside `work`), then `commit`. A crash at any point
 * leaves both or neither. The completion is fenced by the claim's epoch, so a stale attempt (its
 * task reclaimed and claimed again) finds no row to complete, and everything it wrote rolls back;
 * `work` returns false for that, and so does this. Any error rolls back too and is thrown.
 *
 * `sql` is the worker's pool of one connection, and the job's own writes go through it too, so
 * the transaction is plain `begin` and `commit` statements on that one session: postgres.js's
 * `begin` would hand the job a transaction object instead. A session it reopens after a lost one
 * is outside the transaction, so the completion also checks a token set
 * with `set_config(..., true)`, which only this transaction sees.
 */
export async function inTaskTransaction(
  sql: Sql,
  claim: Claim,
  work: (writes: TaskWrites, claim: Claim) => Promise<boolean>,
): Promise<boolean> {
  const fenced: Claim = { ...claim, transaction: `${claim.jobId}:${claim.seq}:${claim.epoch}` };
  await sql`begin`;
  try {
    await sql`select set_config('sluice.claim', ${fenced.transaction as string}, true)`;
    const accepted = await work(writesOn(sql), fenced);
    await (accepted ? sql`commit` : sql`rollback`);
    return accepted;
  } catch (error) {
    // A lost connection has rolled back already; its error is the one worth reporting.
    await sql`rollback`.catch(() => {});
    throw error;
  }
}

function writesOn(sql: Sql): TaskWrites {
  return {
    complete: (claim, report) => completeTask(sql, claim, report),
    recordChunk: (claim, attempt, outcomes, failure, keys) =>
      recordChunk(sql, claim, attempt, outcomes, failure, keys),
    checkpoint: (claim, cursor) => saveCheckpoint(sql, claim, cursor),
  };
}

/**
 * Runs `fn` under a savepoint of the open transaction: a failed item's writes roll back alone,
 * and the items before it keep theirs.
 */
export async function underSavepoint<T>(sql: Sql, fn: () => Promise<T>): Promise<T> {
  await sql`savepoint sluice_item`;
  try {
    const value = await fn();
    await sql`release savepoint sluice_item`;
    return value;
  } catch (error) {
    await sql`rollback to savepoint sluice_item`.catch(() => {});
    throw error;
  }
}

/**
 * True when `other` reaches the very database the state store is in (not merely a database of the
 * same name): a transaction-scoped advisory lock taken on the store's side is looked for from the
 * other side. A random key, so two checks at once never see each other's.
 */
export async function sharesDatabase(state: Sql, other: Sql): Promise<boolean> {
  const [high, low] = [randomInt(2 ** 31 - 1), randomInt(2 ** 31 - 1)];
  return state.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${high}::int, ${low}::int)`;
    const [row] = await other<{ same: boolean }[]>`
      select exists (select 1 from pg_locks where locktype = 'advisory' and granted
        and database = (select oid from pg_database where datname = current_database())
        and classid = ${high}::int::oid and objid = ${low}::int::oid and objsubid = 2) as same`;
    return row?.same === true;
  }) as Promise<boolean>;
}
