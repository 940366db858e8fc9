import { expected } from '../errors.ts';

/** Quotes one SQL identifier; the only thing sluice ever interpolates into SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A table name as the user gave it (`orders` or `shop.orders`), split and quoted. */
export interface TableName {
  schema?: string;
  name: string;
  /** `"shop"."orders"`, safe to interpolate. */
  quoted: string;
  /** As written, for messages. */
  display: string;
}

/** Parses `table` or `schema.table`. Names are taken literally (case kept), as if double-quoted. */
export function parseTableName(field: string, value: unknown): TableName {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) {
    throw expected(field, 'a table name such as `orders` or `shop.orders`', value);
  }
  const parts = value.split('.');
  if (parts.length > 2 || parts.some((part) => part.length === 0)) {
    throw expected(field, 'a table name such as `orders` or `shop.orders`', value);
  }
  const [first, second] = parts as [string, string | undefined];
  const schema = second === undefined ? undefined : first;
  const name = second ?? first;
  return {
    schema,
    name,
    quoted: schema ? `${quoteIdent(schema)}.${quoteIdent(name)}` : quoteIdent(name),
    display: value,
  };
}

/** Checks a column name option. */
export function columnName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 63) {
    throw expected(field, 'a column name', value);
  }
  return value;
}
