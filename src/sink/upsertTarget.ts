import type { Sql } from 'postgres';
import { InputError } from '../errors.ts';
import { quoteIdent, type TableName } from '../plan/identifiers.ts';

/** What the catalog says about an upsert's table: its columns, and that the key can arbitrate. */
export interface UpsertTarget {
  table: TableName;
  /** Every column of the table, in attnum order. */
  columns: readonly string[];
}

// Keyed by pool (or transaction) and then by table and key, so repeated calls and every batch
// after the first skip the catalog. Refusals are not cached: fixing the schema and retrying works.
const checked = new WeakMap<object, Map<string, Promise<UpsertTarget>>>();

/**
 * Checks, once per (sql, table, key), that the table exists and that a unique index or constraint
 * covers exactly the key columns, which `on conflict (key)` needs as its arbiter.
 */
export function checkUpsertTarget(
  sql: Sql,
  table: TableName,
  key: readonly string[],
  fresh = false,
): Promise<UpsertTarget> {
  let forSql = checked.get(sql);
  if (!forSql) {
    forSql = new Map();
    checked.set(sql, forSql);
  }
  const cacheKey = JSON.stringify([table.display, key]);
  const cached = forSql.get(cacheKey);
  if (cached && !fresh) return cached;
  const pending = readTarget(sql, table, key);
  forSql.set(cacheKey, pending);
  pending.catch(() => forSql.delete(cacheKey));
  return pending;
}

async function readTarget(sql: Sql, table: TableName, key: readonly string[]) {
  const where = `upsert(${table.display})`;
  const [found] = await sql<{ oid: number | null; kind: string | null }[]>`
    select c.oid, c.relkind::text as kind
    from pg_class c where c.oid = to_regclass(${table.quoted})`;
  if (!found?.oid || (found.kind !== 'r' && found.kind !== 'p')) {
    throw new InputError(`${where}: table ${table.display} does not exist`);
  }
  const attributes = await sql<{ name: string; num: number }[]>`
    select attname::text as name, attnum::int as num from pg_attribute
    where attrelid = ${found.oid}::oid and attnum > 0 and not attisdropped order by attnum`;
  const columns = attributes.map((a) => a.name);
  const missing = key.filter((k) => !columns.includes(k));
  if (missing.length > 0) {
    throw new InputError(
      `${where}: key column ${missing.map(quoteIdent).join(', ')} does not exist in ${table.display}`,
    );
  }
  const keyNums = key.map((k) => attributes.find((a) => a.name === k)?.num ?? 0);
  // The rules `on conflict (cols)` uses to infer its arbiter: a valid, immediate, non-partial unique
  // index on plain columns, whose column set is exactly the key (in any order).
  const [arbiter] = await sql`
    select 1 from pg_index
    where indrelid = ${found.oid}::oid and indisunique and indimmediate and indisvalid
      and indpred is null and indexprs is null
      and (select array_agg(n order by n) from unnest(indkey::int2[]) n)
        = (select array_agg(n order by n) from unnest(${keyNums}::int2[]) n)
    limit 1`;
  if (!arbiter) {
    const cols = key.map(readableIdent).join(', ');
    const name = [table.schema, table.name].filter((p) => p !== undefined).map(readableIdent);
    throw new InputError(
      `${where}: no unique constraint on (${cols}); add one with \`alter table ${name.join('.')} add unique (${cols})\``,
    );
  }
  return { table, columns };
}

/** An identifier as a user would type it: bare when that is safe, quoted otherwise. */
function readableIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : quoteIdent(name);
}
