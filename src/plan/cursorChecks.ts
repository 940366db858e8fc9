import type { PendingQuery, Row, Sql } from 'postgres';
import { InputError } from '../errors.ts';
import { quoteIdent, type TableName } from './identifiers.ts';
import { findRelation } from './tableChecks.ts';

/** A cursor's table and key as the catalog describes them. */
export interface CursorTable {
  /**
   * Each key column's type as the catalog spells it (`timestamp with time zone`, `"Mood"`), to
   * cast text key values back; it comes from format_type, never from the user.
   */
  keyTypes: string[];
}

interface KeyColumn {
  name: string;
  attnum: number;
  notNull: boolean;
  collation: string;
  type: string;
}

/**
 * Refuses, before any task is planned, a table and key that a keyset walk cannot page through
 * exactly and fast: a missing table or column, no btree index on the key columns in order, a key
 * no unique index makes unique, or a key with NULLs.
 */
export async function checkCursorTable(
  sql: Sql,
  table: TableName,
  key: readonly string[],
  columns: readonly string[] | undefined,
  describe: string,
  filter: () => PendingQuery<Row[]>,
): Promise<CursorTable> {
  const relation = await findRelation(sql, table, describe);
  const wanted = [...key, ...(columns ?? [])];
  const found = await readColumns(sql, relation, wanted);
  const unknown = wanted.find((name) => !found.has(name));
  if (unknown !== undefined) {
    throw new InputError(
      `${describe}: column \`${unknown}\` does not exist in table \`${table.display}\``,
    );
  }
  const keyed = key.map((name) => found.get(name) as KeyColumn);
  const keyList = keyed.map((c) => quoteIdent(c.name)).join(', ');
  if (!(await hasOrderedIndex(sql, relation, keyed))) {
    const what = key.length > 1 ? `columns (${keyList}) need` : `column ${keyList} needs`;
    const order = key.length > 1 ? 'them, in this order' : 'it';
    throw new InputError(
      `${describe}: key ${what} a btree index that starts with ${order}; ` +
        `create one with \`create index on ${table.quoted} (${keyList})\``,
    );
  }
  if (!(await hasUniqueIndex(sql, relation, keyed))) {
    throw new InputError(
      `${describe}: no unique index or primary key covers (${keyList}), so a page boundary could ` +
        'split rows with equal keys; add a unique column such as the primary key to `key`',
    );
  }
  const nullable = keyed.filter((c) => !c.notNull).map((c) => quoteIdent(c.name));
  if (nullable.length > 0) {
    const anyNull = sql.unsafe(nullable.map((c) => `${c} is null`).join(' or '));
    const [row] = await sql`
      select exists (select 1 from ${sql.unsafe(table.quoted)} where (${anyNull}) ${filter()}) as nulls`;
    if (row?.nulls) {
      throw new InputError(
        `${describe}: key column ${nullable.join(' or ')} has NULLs, which no keyset page can reach; ` +
          'filter them out with `where`',
      );
    }
  }
  return { keyTypes: keyed.map((c) => c.type) };
}

/** Reads the key column types alone, for a worker that loads rows without having planned. */
export async function readKeyTypes(
  sql: Sql,
  table: TableName,
  key: readonly string[],
  describe: string,
): Promise<string[]> {
  const relation = await findRelation(sql, table, describe);
  const found = await readColumns(sql, relation, key);
  return key.map((name) => {
    const column = found.get(name);
    if (!column) {
      throw new InputError(
        `${describe}: column \`${name}\` does not exist in table \`${table.display}\``,
      );
    }
    return column.type;
  });
}

async function readColumns(
  sql: Sql,
  relation: string,
  names: readonly string[],
): Promise<Map<string, KeyColumn>> {
  // Without the typmod, a cast never rounds or truncates a value read from the column itself.
  const rows = await sql<KeyColumn[]>`
    select a.attname as name, a.attnum, a.attnotnull as "notNull",
      a.attcollation::int8::text as collation, format_type(a.atttypid, null) as type
    from pg_attribute a
    where a.attrelid = ${relation}::oid and a.attname = any(${names as string[]}::text[])
      and a.attnum > 0 and not a.attisdropped`;
  return new Map(rows.map((row) => [row.name, row]));
}

/**
 * A full, valid btree index whose leading columns are the key, in order, with their default
 * operator class and collation and one direction, can serve `where (key) > (...) order by key`
 * as an index scan. A partial index cannot, since it does not hold every row.
 */
async function hasOrderedIndex(sql: Sql, relation: string, key: KeyColumn[]): Promise<boolean> {
  const [row] = await sql`
    select exists (
      select 1 from pg_index i
      join pg_class ic on ic.oid = i.indexrelid
      join pg_am am on am.oid = ic.relam
      where i.indrelid = ${relation}::oid and am.amname = 'btree' and i.indisvalid
        and i.indpred is null and i.indnkeyatts >= ${key.length}
        and (i.indoption[0] & 3) in (0, 3)
        and (select bool_and(i.indkey[k.ord::int - 1] = k.attnum
                             and i.indcollation[k.ord::int - 1] = k.coll::oid
                             and (i.indoption[k.ord::int - 1] & 3) = (i.indoption[0] & 3)
                             and exists (select 1 from pg_opclass oc
                                         where oc.oid = i.indclass[k.ord::int - 1] and oc.opcdefault))
             from unnest(${key.map((c) => c.attnum)}::int2[], ${key.map((c) => c.collation)}::text[])
                  with ordinality as k(attnum, coll, ord))
    ) as found`;
  return Boolean(row?.found);
}

/** True when a full unique index's key columns are all key columns, so no two rows share a key. */
async function hasUniqueIndex(sql: Sql, relation: string, key: KeyColumn[]): Promise<boolean> {
  const [row] = await sql`
    select exists (
      select 1 from pg_index i
      where i.indrelid = ${relation}::oid and i.indisunique and i.indisvalid
        and i.indpred is null and i.indexprs is null
        and (i.indkey::int2[])[0:i.indnkeyatts - 1] <@ ${key.map((c) => c.attnum)}::int2[]
    ) as found`;
  return Boolean(row?.found);
}
