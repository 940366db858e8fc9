import { createHash } from 'node:crypto';
import type { PendingQuery, Row, Sql } from 'postgres';
import { expected, InputError } from '../errors.ts';
import { wholeNumber } from '../job/defineJob.ts';
import type { PlanContext, PlannedTask, Source } from '../job/types.ts';
import { columnName, parseTableName, quoteIdent, type TableName } from './identifiers.ts';

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

const integerTypes = ['smallint', 'integer', 'bigint'];
// Boundary keys fetched per round trip; client memory stays flat however big the table is.
const cursorBatch = 1000;

/** Splits a table into contiguous key ranges of equal row counts, planned on the server. */
export function tableRanges(options: TableRangesOptions): Source<TableRange> {
  if (typeof options !== 'object' || options === null) {
    throw expected('tableRanges', 'an options object', options);
  }
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

  return {
    describe,
    fingerprint,
    unit: 'rows',
    taskNoun: 'ranges',
    input: parseRange,
    async *plan({ sql }: PlanContext): AsyncGenerator<PlannedTask> {
      const filter = (): PendingQuery<Row[]> => (where ? sql`and (${where(sql)})` : sql``);
      const unique = await checkSource(sql, table, key, describe, filter);
      yield* planRanges(sql, table, key, rowsPerRange, unique, filter);
    },
  };
}

/**
 * Refuses, before any task is planned, a table and key that cannot be split safely and fast.
 * Resolves to whether an index makes the key unique.
 */
async function checkSource(
  sql: Sql,
  table: TableName,
  key: string,
  describe: string,
  filter: () => PendingQuery<Row[]>,
): Promise<boolean> {
  const [rel] = await sql`
    select c.oid::int8::text as oid, c.relkind
    from pg_class c where c.oid = to_regclass(${table.quoted})`;
  if (!rel) throw new InputError(`${describe}: table \`${table.display}\` does not exist`);
  if (!['r', 'p', 'm'].includes(rel.relkind)) {
    throw new InputError(`${describe}: \`${table.display}\` is not a table`);
  }
  const [col] = await sql`
    select a.attnum, a.attnotnull, format_type(a.atttypid, a.atttypmod) as type
    from pg_attribute a
    where a.attrelid = ${rel.oid}::oid and a.attname = ${key} and a.attnum > 0 and not a.attisdropped`;
  if (!col) {
    throw new InputError(
      `${describe}: column \`${key}\` does not exist in table \`${table.display}\``,
    );
  }
  if (!integerTypes.includes(col.type)) {
    throw new InputError(
      `${describe}: column \`${key}\` is ${col.type}; tableRanges needs a smallint, integer or bigint key`,
    );
  }
  // A partial index cannot serve the ordered scan over every row, so only a full btree counts.
  const [index] = await sql`
    select count(*)::int as found, coalesce(bool_or(i.indisunique and i.indnkeyatts = 1), false) as unique
    from pg_index i
    join pg_class ic on ic.oid = i.indexrelid
    join pg_am am on am.oid = ic.relam
    where i.indrelid = ${rel.oid}::oid and i.indkey[0] = ${col.attnum}
      and am.amname = 'btree' and i.indisvalid and i.indpred is null`;
  if (!index?.found) {
    throw new InputError(
      `${describe}: column \`${key}\` needs a btree index that starts with it; ` +
        `create one with \`create index on ${shown(table)} (${shownIdent(key)})\``,
    );
  }
  if (!col.attnotnull) {
    const k = sql.unsafe(quoteIdent(key));
    const [nulls] = await sql`
      select exists (select 1 from ${sql.unsafe(table.quoted)} where ${k} is null ${filter()}) as found`;
    if (nulls?.found) {
      throw new InputError(
        `${describe}: column \`${key}\` has NULLs, which no range can hold; filter them out with \`where\``,
      );
    }
  }
  return index.unique as boolean;
}

/**
 * Streams every rowsPerRange-th key from one ordered index scan, so ranges balance by row count,
 * not key width, and only boundary keys reach the client. One statement is one snapshot, so the
 * row counts are exact at plan time. A key repeated across a boundary stays whole in one range:
 * its range starts at the key's rank (first row), not at the boundary row.
 */
async function* planRanges(
  sql: Sql,
  table: TableName,
  key: string,
  rowsPerRange: number,
  unique: boolean,
  filter: () => PendingQuery<Row[]>,
): AsyncGenerator<PlannedTask> {
  const k = sql.unsafe(quoteIdent(key));
  const t = sql.unsafe(table.quoted);
  // 10M bigint rows, PG 18, 2 shared vCPUs, rowsPerRange 10k: 3.6-3.9 s with a unique index
  // (row_number only), 6-8 s without (rank() to find where a repeated key starts); client memory
  // flat. lead() to mark the last row added 2 s. Recursive `offset n-1 limit 1` index probes took
  // 0.8 s at 10k but 11 s at 10 and 87 s at 1. The tail's upper bound keeps the planner on the
  // index: with `>=` alone it guesses a third of the table.
  const at = unique ? sql`row_number() over w` : sql`rank() over w`;
  const boundaries = sql`
    with b as (
      select k, at from (
        select ${k} as k, row_number() over w as rn, ${at} as at
        from ${t} where true ${filter()}
        window w as (order by ${k})
      ) s where (rn - 1) % ${rowsPerRange}::int8 = 0
    )
    select k::text as k, at as n, false as tail from b
    union all
    select max(${k})::text, count(*), true from ${t}
    where ${k} between (select max(k) from b) and (select max(${k}) from ${t}) ${filter()}`;
  let start: string | undefined;
  let startAt = 0;
  for await (const rows of boundaries.cursor(cursorBatch)) {
    for (const row of rows) {
      if (!row.tail) {
        if (row.k === start) continue;
        const at = Number(row.n);
        if (start !== undefined) yield task(start, (BigInt(row.k) - 1n).toString(), at - startAt);
        start = row.k as string;
        startAt = at;
      } else if (start !== undefined && row.k !== null) {
        yield task(start, row.k as string, Number(row.n));
      }
    }
  }
}

function task(start: string, end: string, rows: number): PlannedTask {
  const payload: TableRange = { start, end, rows };
  return { payload, items: rows };
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

function shown(table: TableName): string {
  return [table.schema ?? [], table.name].flat().map(shownIdent).join('.');
}

/** Leaves plain lower-case names bare in suggested SQL, as a person would type them. */
function shownIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : quoteIdent(name);
}
