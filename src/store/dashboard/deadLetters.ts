import type { Sql } from 'postgres';
import { findDeadLetter } from '../deadLetters.ts';
import { isoTime } from './time.ts';

/** A dead letter as the job page lists it: no payload, which is fetched by key on demand. */
export interface DeadLetterRow {
  key: string;
  taskSeq: number;
  error: string;
  attempts: number;
  firstFailedAt: string;
  lastFailedAt: string;
}

/**
 * A page of a job's dead letters in key order, after the key `after` (keyset through the unique
 * index on (job_id, item_key)), and how many there are.
 */
export async function deadLetterPage(
  sql: Sql,
  jobId: string,
  options: { limit?: number; after?: string } = {},
): Promise<{ total: number; letters: DeadLetterRow[] }> {
  const limit = options.limit ?? 50;
  const after = options.after;
  const letters = await sql<
    (Omit<DeadLetterRow, 'firstFailedAt' | 'lastFailedAt'> & {
      firstFailedAt: Date;
      lastFailedAt: Date;
    })[]
  >`
    select item_key as key, task_seq as "taskSeq", error, attempts,
      first_failed_at as "firstFailedAt", last_failed_at as "lastFailedAt"
    from sluice.dead_letters
    where job_id = ${jobId} ${after === undefined ? sql`` : sql`and item_key > ${after}`}
    order by item_key limit ${limit}`;
  const [row] = await sql<{ total: number }[]>`
    select count(*)::int as total from sluice.dead_letters where job_id = ${jobId}`;
  return {
    total: row?.total ?? 0,
    letters: letters.map((l) => ({
      ...l,
      firstFailedAt: isoTime(l.firstFailedAt) as string,
      lastFailedAt: isoTime(l.lastFailedAt) as string,
    })),
  };
}

/** One dead letter's payload and stack, shown on demand; undefined when there is none. */
export async function deadLetterPayload(
  sql: Sql,
  jobId: string,
  key: string,
): Promise<{ key: string; payload: unknown; stack: string | null } | undefined> {
  const letter = await findDeadLetter(sql, jobId, key);
  return letter && { key: letter.key, payload: letter.payload, stack: letter.stack };
}
