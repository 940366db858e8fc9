import { createHash } from 'node:crypto';
import type { PendingQuery, Row, Sql } from 'postgres';
import { expected, wholeNumber } from '../errors.ts';
import type { PlanContext, PlannedTask, Source } from '../job/types.ts';
import { optionNames, refuseUnknownOptions } from '../optionNames.ts';
import { columnName, parseTableName } from './identifiers.ts';
import { planRanges } from './rangeBoundaries.ts';
import { checkSource } from './tableChecks.ts';
import { blameWhere } from './whereErrors.ts';

/** One task's slice of a table: inclusive key bounds as exact decimal strings. */
export interface TableRange {
  start: string;
  end: string;
  /** Rows in the range (matching `where`) when it was planned. */
  rows: number;
}

export interface TableRangesOptions {
  /** `orders` or `shop.orders`, taken literally as if double-quoted. */
  table: string;
  /** A smallint, integer or bigint column leading a btree index; a unique one plans ~2x faster. */
  key: string;
  /** Rows per range: exact at plan time for all but the last, less where a key repeats. */
  rowsPerRange: number;
  /** Narrows the rows planned, for example ``(sql) => sql`status = ${'paid'}` ``. Default: all rows. */
  where?: (sql: Sql) => PendingQuery<Row[]>;
}

const tableRangesNames = optionNames<TableRangesOptions>({
  table: true,
  key: true,
  rowsPerRange: true,
  where: true,
});

/** Splits a table into contiguous key ranges of equal row counts, planned on the server. */
export function tableRanges(options: TableRangesOptions): Source<TableRange> {
  if (typeof options !== 'object' || options === null) {
    throw expected('tableRanges', 'an options object', options);
  }
  refuseUnknownOptions(options, tableRangesNames, { where: 'tableRanges({...})' });
  const table = parseTableName('table', options.table);
  const key = columnName('key', options.key);
  const rowsPerRange = wholeNumber('rowsPerRange', options.rowsPerRange, 1);
  const where = options.where;
  if (where !== undefined && typeof where !== 'function') {
    throw expected('where', 'a function returning a condition, such as sql`paid = true`', where);
  }
  const describe = `tableRanges(${table.display}.${key})`;
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify({
        source: 'tableRanges',
        table: table.display,
        key,
        rowsPerRange,
        where: where ? where.toString() : null,
      }),
    )
    .digest('hex');

  async function* planTable(sql: Sql): AsyncGenerator<PlannedTask> {
    const filter = (): PendingQuery<Row[]> => (where ? sql`and (${where(sql)})` : sql``);
    const unique = await checkSource(sql, table, key, describe, filter);
    yield* planRanges({ sql, table, key, rowsPerRange, unique, filter });
  }

  return {
    describe,
    fingerprint,
    unit: 'rows',
    taskNoun: 'ranges',
    input: parseRange,
    plan({ sql }: PlanContext): AsyncGenerator<PlannedTask> {
      return where ? blameWhere(describe, planTable(sql)) : planTable(sql);
    },
  };
}

const integerText = /^-?\d{1,19}$/;

function parseRange(payload: unknown): TableRange {
  const p = payload as Partial<TableRange> | null;
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.start !== 'string' ||
    typeof p.end !== 'string' ||
    !integerText.test(p.start) ||
    !integerText.test(p.end) ||
    typeof p.rows !== 'number'
  ) {
    throw expected('payload', 'a table range { start, end, rows }', payload);
  }
  return { start: p.start, end: p.end, rows: p.rows };
}
