import { expected, PermanentError } from '../errors.ts';

/** What happened to one item of a chunk: the chunk's function returns one per item. */
export type Outcome<Item = unknown, Value = unknown> =
  | { item: Item; ok: true; value?: Value }
  | { item: Item; ok: false; error: string; status?: number };

/** A successful item, with what it produced. */
export function succeeded<Item, Value>(item: Item, value?: Value): Outcome<Item, Value> {
  return { item, ok: true, value };
}

/** A failed item; `status` keeps an HTTP status such as 429 or 503 when there is one. */
export function failed<Item>(item: Item, error: unknown, status?: number): Outcome<Item, never> {
  const message = error instanceof Error ? error.message : String(error);
  return status === undefined
    ? { item, ok: false, error: message }
    : { item, ok: false, error: message, status };
}

/**
 * Checks what a chunk's function returned. A wrong shape is a bug in the job, which retrying
 * cannot fix, so it fails the chunk at once.
 */
export function checkOutcomes(value: unknown): Outcome[] {
  const valid =
    Array.isArray(value) &&
    value.every(
      (o) => typeof o === 'object' && o !== null && 'item' in o && typeof o.ok === 'boolean',
    );
  if (!valid) {
    const error = expected(
      'run',
      'to return one outcome per item: { item, ok: true, value } or { item, ok: false, error }',
      value,
    );
    throw new PermanentError(error.message);
  }
  return value as Outcome[];
}
