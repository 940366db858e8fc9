import { createHash } from 'node:crypto';
import type { PendingQuery, Row, Sql } from 'postgres';
import { expected, SluiceError, wholeNumber } from '../errors.ts';
import type { PlanContext, PlannedTask, Source } from '../job/types.ts';
import { optionNames, refuseUnknownOptions } from '../optionNames.ts';
import { type CursorChunk, planCursorChunks } from './cursorBoundaries.ts';
import { checkCursorTable, readKeyTypes } from './cursorChecks.ts';
import { readChunkRows } from './cursorRows.ts';
import { columnName, parseTableName } from './identifiers.ts';
import { blameWhere } from './whereErrors.ts';

export type { CursorChunk } from './cursorBoundaries.ts';

export interface CursorOptions {
  /** `events` or `shop.events`, taken literally as if double-quoted. */
  table: string;
  /**
   * The column, or columns in order (`['updated_at', 'id']`), to page by. Any btree-orderable
   * type; a btree index must start with them, and a unique index or primary key must make them
   * unique (add the primary key to a timestamp).
   */
  key: string | readonly string[];
  /** Rows per chunk: exactly this many in every chunk but the last. */
  batchSize: number;
  /** Narrows the rows, for example ``(sql) => sql`status = ${'paid'}` ``. Default: all rows. */
  where?: (sql: Sql) => PendingQuery<Row[]>;
  /** Columns each row carries. Default: all of them. */
  columns?: readonly string[];
}

const cursorNames = optionNames<CursorOptions>({
  table: true,
  key: true,
  batchSize: true,
  where: true,
  columns: true,
});

/**
 * Pages through a table by its key, `where (key) > (last) order by key limit batchSize`, as
 * chunks of rows: one task per chunk, planned by walking the index, that stores only the chunk's
 * key bounds. A worker reads the chunk's rows itself and hands them to the job's `each(row)` or
 * `run(rows)`, which return one outcome per row, as for `chunks(...)`.
 */
export function cursor<R = Record<string, unknown>>(options: CursorOptions): Source<R[]> {
  if (typeof options !== 'object' || options === null) {
    throw expected('cursor', 'an options object', options);
  }
  refuseUnknownOptions(options, cursorNames, { where: 'cursor({...})' });
  const table = parseTableName('table', options.table);
  const key = keyColumns(options.key);
  const batchSize = wholeNumber('batchSize', options.batchSize, 1);
  const where = options.where;
  if (where !== undefined && typeof where !== 'function') {
    throw expected('where', 'a function returning a condition, such as sql`paid = true`', where);
  }
  const columns = options.columns === undefined ? undefined : columnList(options.columns);
  const describe = `cursor(${table.display}.${key.length === 1 ? key[0] : `(${key.join(', ')})`})`;
  // Columns do not shape the plan, so choosing others does not stop a resume.
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify({
        source: 'cursor',
        table: table.display,
        key,
        batchSize,
        where: where ? where.toString() : null,
      }),
    )
    .digest('hex');
  const filterOn = (sql: Sql) => (): PendingQuery<Row[]> =>
    where ? sql`and (${where(sql)})` : sql``;
  // Read once per process, by the planner or by the first chunk a worker loads.
  let keyTypes: Promise<string[]> | undefined;

  async function* planChunks(sql: Sql): AsyncGenerator<PlannedTask> {
    const filter = filterOn(sql);
    const checked = await checkCursorTable(sql, table, key, columns, describe, filter);
    keyTypes = Promise.resolve(checked.keyTypes);
    yield* planCursorChunks({ sql, table, key, batchSize, filter });
  }

  return {
    describe,
    fingerprint,
    unit: 'rows',
    taskNoun: 'chunks',
    outcomes: true,
    input(payload) {
      if (Array.isArray(payload)) return payload as R[];
      throw new SluiceError(`${describe}: a chunk's rows are read with load(payload, { sql })`);
    },
    async load(payload, { sql }) {
      // A plain array is exactly these rows again (`sluice retry --failed-only`), not bounds.
      if (Array.isArray(payload)) return payload as R[];
      const chunk = parseChunk(payload, key.length);
      keyTypes ??= readKeyTypes(sql, table, key, describe);
      const types = await keyTypes.catch((error) => {
        keyTypes = undefined;
        throw error;
      });
      const read = { table, key, keyTypes: types, columns, filter: filterOn(sql) };
      return (await readChunkRows(sql, read, chunk)) as R[];
    },
    plan({ sql }: PlanContext): AsyncGenerator<PlannedTask> {
      return where ? blameWhere(describe, planChunks(sql)) : planChunks(sql);
    },
  };
}

function keyColumns(value: unknown): string[] {
  const names = Array.isArray(value) ? value : [value];
  if (names.length === 0 || names.length > 32) {
    throw expected('key', 'a column name or a non-empty array of column names', value);
  }
  for (const name of names) columnName('key', name);
  if (new Set(names).size !== names.length) throw expected('key', 'distinct column names', value);
  return names as string[];
}

function columnList(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw expected('columns', 'a non-empty array of column names', value);
  }
  for (const name of value) columnName('columns', name);
  return value as string[];
}

function parseChunk(payload: unknown, keyLength: number): CursorChunk {
  const p = payload as Partial<CursorChunk> | null;
  const isKey = (v: unknown): v is string[] =>
    Array.isArray(v) && v.length === keyLength && v.every((part) => typeof part === 'string');
  if (
    typeof p !== 'object' ||
    p === null ||
    !isKey(p.through) ||
    !(p.after === null || isKey(p.after))
  ) {
    throw expected('payload', 'a cursor chunk { after, through }', payload);
  }
  return { after: p.after, through: p.through };
}
