import type { PendingQuery, Row, Sql } from 'postgres';
import { InputError } from '../errors.ts';
import { quoteIdent, type TableName } from './identifiers.ts';

const integerTypes = ['smallint', 'integer', 'bigint'];

/**
 * Refuses, before any task is planned, a table and key that cannot be split safely and fast.
 * Resolves to whether an index makes the key unique.
 */
export async function checkSource(
  sql: Sql,
  table: TableName,
  key: string,
  describe: string,
  filter: () => PendingQuery<Row[]>,
): Promise<boolean> {
  const relation = await findRelation(sql, table, describe);
  const [col] = await sql`
    select a.attnum, a.attnotnull, format_type(a.atttypid, a.atttypmod) as type
    from pg_attribute a
    where a.attrelid = ${relation}::oid and a.attname = ${key} and a.attnum > 0 and not a.attisdropped`;
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
    where i.indrelid = ${relation}::oid and i.indkey[0] = ${col.attnum}
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

function shown(table: TableName): string {
  return [table.schema ?? [], table.name].flat().map(shownIdent).join('.');
}

/** Leaves plain lower-case names bare in suggested SQL, as a person would type them. */
function shownIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : quoteIdent(name);
}

/** The table's oid, as text; refuses a name that is missing or is not a table. */
export async function findRelation(sql: Sql, table: TableName, describe: string): Promise<string> {
  const [rel] = await sql`
    select c.oid::int8::text as oid, c.relkind
    from pg_class c where c.oid = to_regclass(${table.quoted})`;
  if (!rel) throw new InputError(`${describe}: table \`${table.display}\` does not exist`);
  if (!['r', 'p', 'm'].includes(rel.relkind)) {
    throw new InputError(`${describe}: \`${table.display}\` is not a table`);
  }
  return rel.oid as string;
}
