import type { Sql } from 'postgres';
import { expected, InputError } from '../errors.ts';
import { optionNames, refuseUnknownOptions } from '../optionNames.ts';
import { columnName, parseTableName, quoteIdent } from '../plan/identifiers.ts';
import { checkUpsertTarget } from './upsertTarget.ts';

/** Options of `upsert`. */
export interface UpsertOptions {
  /** The conflict key: columns covered exactly by a unique index or constraint of the table. */
  key: readonly string[];
  /**
   * What a row whose key already exists does: `'all'` overwrites every written column except the
   * key, a list overwrites only those columns, `'none'` keeps the existing row (`do nothing`).
   */
  update: 'all' | 'none' | readonly string[];
  /** Rows per statement. Default 1000. */
  batchSize?: number;
}

// undefined_table, undefined_column, invalid_column_reference (no arbiter for `on conflict`).
const schemaChanged = new Set(['42P01', '42703', '42P10']);

const defaults = { batchSize: 1000 } satisfies Partial<UpsertOptions>;
const upsertNames = optionNames<UpsertOptions>({ key: true, update: true, batchSize: true });

/**
 * Writes rows idempotently: batches of `insert ... on conflict (key) do update | do nothing`.
 * Running the same rows twice leaves the table as after the first run.
 *
 * The columns are the keys of the first row; every row must have the same ones. A batch travels
 * as one JSON parameter that PostgreSQL casts to the table's own column types, so `Date`,
 * numeric strings, objects for `jsonb`, arrays for `text[]` and nulls all land as they should.
 * Within one batch, when a key repeats, the last row wins, as if the rows were written one by one.
 *
 * `written` counts rows inserted or updated; rows skipped by `'none'` are not counted.
 */
export async function upsert<Row extends object>(
  sql: Sql,
  table: string,
  rows: readonly Row[],
  options: UpsertOptions,
): Promise<{ written: number }> {
  const target = parseTableName('table', table);
  const { key, update, batchSize } = validateOptions(options);
  if (!Array.isArray(rows)) throw expected('rows', 'an array of row objects', rows);
  const columns = rowColumns(target.display, rows as readonly Record<string, unknown>[]);
  if (columns) {
    for (const k of key) {
      if (!columns.includes(k)) {
        throw new InputError(
          `upsert(${target.display}): key column ${quoteIdent(k)} is missing from the rows`,
        );
      }
    }
  }
  if (columns && update !== 'all' && update !== 'none') {
    const bad = update.filter((c) => !columns.includes(c) || key.includes(c));
    if (bad.length > 0) {
      throw expected('update', 'columns of the rows that are not in `key`', bad);
    }
  }
  let checked = await checkUpsertTarget(sql, target, key);
  if (!columns) return { written: 0 };
  if (columns.some((c) => !checked.columns.includes(c))) {
    checked = await checkUpsertTarget(sql, target, key, true);
  }
  const unknown = columns.filter((c) => !checked.columns.includes(c));
  if (unknown.length > 0) {
    throw new InputError(
      `upsert(${target.display}): column ${unknown.map(quoteIdent).join(', ')} does not exist in ${target.display}`,
    );
  }
  const updated =
    update === 'none' ? [] : update === 'all' ? columns.filter((c) => !key.includes(c)) : update;
  const statement = upsertStatement(target.quoted, columns, key, updated);
  let written = 0;
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    try {
      const result = await sql.unsafe(statement, [batchJson(batch)]);
      written += result.count;
    } catch (error) {
      // The cached check can be stale (the table dropped or altered since): check again, so the
      // caller gets the same clear refusal as on a first call.
      if (schemaChanged.has((error as { code?: string }).code ?? '')) {
        await checkUpsertTarget(sql, target, key, true);
      }
      throw error;
    }
  }
  return { written };
}

function validateOptions(options: UpsertOptions) {
  if (typeof options !== 'object' || options === null) {
    throw expected('options', 'an object with `key` and `update`', options);
  }
  refuseUnknownOptions(options, upsertNames, { where: 'upsert(sql, table, rows, {...})' });
  const { key, update, batchSize = defaults.batchSize } = options;
  if (!Array.isArray(key) || key.length === 0) {
    throw expected('key', 'a non-empty array of column names', key);
  }
  for (const k of key) columnName('key', k);
  if (new Set(key).size !== key.length) throw expected('key', 'distinct column names', key);
  if (update !== 'all' && update !== 'none') {
    if (!Array.isArray(update) || update.length === 0) {
      throw expected('update', "`'all'`, `'none'` or a non-empty array of column names", update);
    }
    for (const c of update) columnName('update', c);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw expected('batchSize', 'a whole number >= 1', batchSize);
  }
  return { key: key as readonly string[], update, batchSize };
}

/** The column list, from the first row; every row must have exactly the same keys. */
function rowColumns(display: string, rows: readonly Record<string, unknown>[]) {
  const first = rows[0];
  if (first === undefined) return undefined;
  const columns = Object.keys(first);
  if (columns.length === 0) throw expected('rows[0]', 'an object with at least one column', first);
  for (const c of columns) columnName('rows[0]', c);
  const wanted = new Set(columns);
  for (const [i, row] of rows.entries()) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      throw expected(`rows[${i}]`, 'a row object', row);
    }
    const keys = Object.keys(row);
    if (keys.length !== wanted.size || keys.some((k) => !wanted.has(k))) {
      throw new InputError(
        `upsert(${display}): row ${i} has columns (${keys.join(', ')}) but row 0 has (${columns.join(', ')}); every row needs the same columns`,
      );
    }
  }
  return columns;
}

/**
 * One statement for every batch. `json_array_elements ... with ordinality` numbers the rows so
 * that `distinct on (key)` keeps the row a one-by-one write would leave: the last of a repeated
 * key when updating (`do update` refuses to touch one row twice in a statement), the first when not.
 */
function upsertStatement(
  table: string,
  columns: readonly string[],
  key: readonly string[],
  updated: readonly string[],
): string {
  const list = columns.map(quoteIdent).join(', ');
  const keys = key.map(quoteIdent).join(', ');
  const picked = columns.map((c) => `r.${quoteIdent(c)}`).join(', ');
  const rowKeys = key.map((c) => `r.${quoteIdent(c)}`).join(', ');
  const onConflict =
    updated.length === 0
      ? 'do nothing'
      : `do update set ${updated.map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`).join(', ')}`;
  return `insert into ${table} (${list})
select distinct on (${rowKeys}) ${picked}
from json_array_elements($1::text::json) with ordinality as e(doc, n),
  json_populate_record(null::${table}, e.doc) as r
order by ${rowKeys}, e.n ${updated.length === 0 ? 'asc' : 'desc'}
on conflict (${keys}) ${onConflict}`;
}

/**
 * The batch as JSON text. Bigints become decimal strings, bytes `\x` hex, and non-finite numbers
 * the words PostgreSQL reads (JSON would turn them into null).
 */
function batchJson(rows: readonly object[]): string {
  return JSON.stringify(rows, function (this: Record<string, unknown>, k, v) {
    const raw = this[k];
    if (typeof raw === 'bigint') return raw.toString();
    if (typeof raw === 'number' && !Number.isFinite(raw)) return String(raw);
    if (raw instanceof Uint8Array) return `\\x${Buffer.from(raw).toString('hex')}`;
    return v;
  });
}
