import type { PendingQuery, Row, Sql } from 'postgres';
import type { PlannedTask } from '../job/types.ts';
import { quoteIdent, type TableName } from './identifiers.ts';

/**
 * One chunk of a cursor, as stored: its key bounds as text, one value per key column. The chunk
 * holds the rows with `after < (key) <= through`; the first chunk has no lower bound.
 */
export interface CursorChunk {
  after: string[] | null;
  through: string[];
}

// Boundaries fetched per round trip; client memory stays flat however big the table is.
const cursorBatch = 1000;

/** What to walk: a checked table and key, and the job's `where`. */
export interface CursorWalk {
  sql: Sql;
  table: TableName;
  key: readonly string[];
  batchSize: number;
  /** `and (...)` for the job's `where`, or nothing. */
  filter: () => PendingQuery<Row[]>;
}

/**
 * Walks the key's index page by page in one recursive statement, the way the chunks will be read:
 * each step reads the next `batchSize` keys after the previous boundary (`where (key) > (last)
 * order by key limit n`, never OFFSET) and keeps only the last of them. Only boundary keys reach
 * the client, through a cursor, so planning holds a few chunks in memory at any table size. One
 * statement is one snapshot, so every chunk but the last holds exactly `batchSize` rows.
 *
 * Keys leave as the text of their JSON form: exact for bigint and numeric, and ISO 8601 with
 * microseconds for timestamps whatever the session's DateStyle, so a cast reads them back exactly.
 */
export async function* planCursorChunks(walk: CursorWalk): AsyncGenerator<PlannedTask> {
  const { sql, table, key, batchSize, filter } = walk;
  const names = key.map((_, i) => `sluice_k${i}`);
  const list = (parts: string[]) => sql.unsafe(parts.join(', '));
  const k = list(key.map(quoteIdent));
  const t = sql.unsafe(table.quoted);
  const page = (after: PendingQuery<Row[]>) => sql`
    select q.* from (
      select ${list(key.map((c, i) => `${quoteIdent(c)} as ${names[i]}`))},
        row_number() over (order by ${k}) as sluice_n
      from ${t} where ${after} ${filter()} order by ${k} limit ${batchSize}::int8
    ) q order by q.sluice_n desc limit 1`;
  // The recursion stops after the first page that comes back short: it was the last.
  const boundaries = sql`
    with recursive b as (
      (${page(sql`true`)})
      union all
      select p.* from b cross join lateral (${page(sql`(${k}) > (${list(names.map((n) => `b.${n}`))})`)}) p
      where b.sluice_n = ${batchSize}::int8
    )
    select ${list(names.map((n) => `to_jsonb(${n}) #>> '{}' as ${n}`))}, sluice_n::int8::text as n
    from b`;
  let after: string[] | null = null;
  for await (const rows of boundaries.cursor(cursorBatch)) {
    for (const row of rows) {
      const through = names.map((n) => row[n] as string);
      const payload: CursorChunk = { after, through };
      yield { payload, items: Number(row.n) };
      after = through;
    }
  }
}
