/**
 * Serialises a report or result for a jsonb column. Bigints become decimal strings (JSON has no
 * integers beyond 2^53), and `undefined` becomes null.
 */
export function toJsonText(value: unknown): string {
  return (
    JSON.stringify(value ?? null, (_key, v) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null'
  );
}
