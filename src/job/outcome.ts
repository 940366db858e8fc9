import { expected, PermanentError } from '../errors.ts';
import { redactSecrets } from '../store/redact.ts';

/** What happened to one item of a chunk: the chunk's function returns one per item. */
export type Outcome<Item = unknown, Value = unknown> =
  | { item: Item; ok: true; value?: Value }
  | {
      item: Item;
      ok: false;
      error: string;
      status?: number;
      /** Where the error was thrown, for the dead-letter table. */
      stack?: string;
      /** Tries the item had; when absent (a `run` outcome), the attempt of the task that returned it. */
      attempts?: number;
    };

/** A successful item, with what it produced. */
export function succeeded<Item, Value>(item: Item, value?: Value): Outcome<Item, Value> {
  return { item, ok: true, value };
}

/** A failed item; `status` keeps an HTTP status such as 429 or 503 when there is one. */
export function failed<Item>(
  item: Item,
  error: unknown,
  status?: number,
  attempts?: number,
): Outcome<Item, never> {
  const outcome: Outcome<Item, never> = {
    item,
    ok: false,
    // A password in a connection URL must not reach the store, the manifest or stderr.
    error: redactSecrets(error instanceof Error ? error.message : String(error)),
  };
  if (status !== undefined) outcome.status = status;
  if (error instanceof Error && error.stack !== undefined)
    outcome.stack = redactSecrets(error.stack);
  if (attempts !== undefined) outcome.attempts = attempts;
  return outcome;
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
