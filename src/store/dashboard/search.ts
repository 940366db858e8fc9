import type { Sql } from 'postgres';
import { isoTime } from './time.ts';

/** What to look for: an item key (a prefix, or exactly), or words of an error message. */
export type SearchQuery =
  | { key: string; exact?: boolean; limit?: number }
  | { text: string; limit?: number };

export interface OutcomeHit {
  taskSeq: number;
  idx: number;
  /** The item's key as the default itemKey makes it; null when it has none (see item_key). */
  key: string | null;
  ok: boolean;
  /** The HTTP-like status a failure recorded, if any. */
  status: number | null;
  error: string | null;
  /** A later retry re-ran this item: this is history. */
  superseded: boolean;
  at: string;
}

export interface DeadLetterHit {
  key: string;
  taskSeq: number;
  error: string;
  attempts: number;
  lastFailedAt: string;
}

export interface SearchResult {
  outcomes: OutcomeHit[];
  deadLetters: DeadLetterHit[];
}

// U+10FFFF sorts after every other character in byte order: with collate "C", a key with the
// prefix p lies in [p, p || U+10FFFF), which a btree scans as a range. (A key that continues with
// U+10FFFF itself, a noncharacter, would be missed.)
const afterEveryChar = String.fromCodePoint(0x10ffff);

/**
 * Words to a tsquery that wants all of them, each as a prefix ("conn" finds "connection"). Only
 * letters, digits and underscores pass, so nothing in it is tsquery syntax.
 */
function wordsQuery(text: string): string {
  const words = text.match(/[\p{L}\p{N}_]+/gu) ?? [];
  return words
    .slice(0, 16)
    .map((w) => `'${w}':*`)
    .join(' & ');
}

/**
 * Finds a job's outcomes and dead letters by item key or by error text, the first `limit` of each
 * (default 50). Keys go through btree indexes in byte order (outcomes_item_key,
 * dead_letters_item_key) and come back in key order; words go through GIN indexes on
 * to_tsvector('simple', error) (outcomes_error_text, dead_letters_error_text), and matches come
 * back in no particular order: sorting every match of a common word would read them all.
 */
export async function searchJob(
  sql: Sql,
  jobId: string,
  query: SearchQuery,
): Promise<SearchResult> {
  const limit = query.limit ?? 50;
  let outcomeWhere: ReturnType<Sql>;
  let letterWhere: ReturnType<Sql>;
  let outcomeOrder = sql``;
  let letterOrder = sql``;
  if ('key' in query) {
    const key = sql`sluice.item_key(o.item) collate "C"`;
    const letterKey = sql`d.item_key collate "C"`;
    if (query.exact) {
      outcomeWhere = sql`${key} = ${query.key}`;
      letterWhere = sql`${letterKey} = ${query.key}`;
    } else {
      const upper = query.key + afterEveryChar;
      outcomeWhere = sql`${key} >= ${query.key} and ${key} < ${upper}`;
      letterWhere = sql`${letterKey} >= ${query.key} and ${letterKey} < ${upper}`;
    }
    outcomeOrder = sql`order by ${key}, o.task_seq, o.idx`;
    letterOrder = sql`order by ${letterKey}`;
  } else {
    const words = wordsQuery(query.text);
    if (words === '') return { outcomes: [], deadLetters: [] };
    outcomeWhere = sql`not o.ok and to_tsvector('simple', o.error) @@ to_tsquery('simple', ${words})`;
    letterWhere = sql`to_tsvector('simple', d.error) @@ to_tsquery('simple', ${words})`;
  }
  const outcomes = await sql<(Omit<OutcomeHit, 'at'> & { at: Date })[]>`
    select o.task_seq as "taskSeq", o.idx, sluice.item_key(o.item) as key, o.ok, o.status,
      o.error, o.superseded, o.created_at as at
    from sluice.outcomes o where o.job_id = ${jobId} and ${outcomeWhere}
    ${outcomeOrder} limit ${limit}`;
  const deadLetters = await sql<(Omit<DeadLetterHit, 'lastFailedAt'> & { lastFailedAt: Date })[]>`
    select d.item_key as key, d.task_seq as "taskSeq", d.error, d.attempts,
      d.last_failed_at as "lastFailedAt"
    from sluice.dead_letters d where d.job_id = ${jobId} and ${letterWhere}
    ${letterOrder} limit ${limit}`;
  return {
    outcomes: outcomes.map((o) => ({ ...o, at: isoTime(o.at) as string })),
    deadLetters: deadLetters.map((d) => ({
      ...d,
      lastFailedAt: isoTime(d.lastFailedAt) as string,
    })),
  };
}
