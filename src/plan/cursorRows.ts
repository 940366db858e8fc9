import type { PendingQuery, Row, Sql } from 'postgres';
import type { CursorChunk } from './cursorBoundaries.ts';
import { quoteIdent, type TableName } from './identifiers.ts';

/** What a worker needs to read one chunk's rows. */
export interface ChunkRead {
  table: TableName;
  key: readonly string[];
  /** The key columns' types from the catalog, to cast the stored text bounds. */
  keyTypes: readonly string[];
  /** Columns to select; all of them when absent. */
  columns?: readonly string[];
  /** `and (...)` for the job's `where` on this connection, or nothing. */
  filter: () => PendingQuery<Row[]>;
}

/**
 * Reads the rows of one chunk in key order, on the worker's own connection: one index range scan
 * between the chunk's bounds, `(key) > (after) and (key) <= (through)`. The bounds are text
 * parameters cast to the key's own types by the server, so a timestamp or a bigint compares
 * exactly as stored: typed as timestamptz, postgres.js would pass the value through a JS Date and
 * drop its microseconds.
 */
export async function readChunkRows(sql: Sql, read: ChunkRead, chunk: CursorChunk): Promise<Row[]> {
  const k = sql.unsafe(read.key.map(quoteIdent).join(', '));
  const values = (text: string[]) =>
    text
      .map((value, i) => sql`${value}::text::${sql.unsafe(read.keyTypes[i] as string)}`)
      .reduce((all, one) => sql`${all}, ${one}`);
  const lower = chunk.after ? sql`and (${k}) > (${values(chunk.after)})` : sql``;
  const columns = read.columns ? sql.unsafe(read.columns.map(quoteIdent).join(', ')) : sql`*`;
  const rows = await sql`
    select ${columns} from ${sql.unsafe(read.table.quoted)}
    where (${k}) <= (${values(chunk.through)}) ${lower} ${read.filter()}
    order by ${k}`;
  // A plain array of plain rows: the job gets no driver internals, and outcomes serialise cleanly.
  return Array.from(rows);
}
