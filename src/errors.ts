/** Base class for errors sluice raises on purpose; anything else is a bug or a user error. */
export class SluiceError extends Error {
  override name = 'SluiceError';
}

/**
 * Bad input: an option, a file, a table or a command line that cannot work. It is raised
 * before anything durable is written, and the CLI prints its message as one line.
 */
export class InputError extends SluiceError {
  override name = 'InputError';
}

/** Thrown by a task to say that retrying cannot help: it fails at once, with no backoff. */
export class PermanentError extends SluiceError {
  override name = 'PermanentError';
}

/** The store's schema is newer than this build of sluice understands. */
export class SchemaVersionError extends SluiceError {
  override name = 'SchemaVersionError';
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(
      `The sluice schema is at version ${found}, but this sluice knows only up to ${known}; upgrade sluice`,
    );
  }
}

/** Normalises whatever was thrown into an Error, keeping its message and stack when it has them. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === 'string') return new Error(thrown);
  try {
    return new Error(JSON.stringify(thrown));
  } catch {
    return new Error(String(thrown));
  }
}

/** Describes a value for an error message: `0` (number), `"x"` (string). */
export function describeValue(value: unknown): string {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  let shown: string;
  try {
    // JSON shows NaN and Infinity as null, which would hide the very mistake being reported.
    shown =
      typeof value === 'bigint'
        ? `${value}n`
        : typeof value === 'number' && !Number.isFinite(value)
          ? String(value)
          : (JSON.stringify(value) ?? String(value));
  } catch {
    shown = String(value);
  }
  return `\`${shown}\` (${type})`;
}

/** The message form used for every rejected option. */
export function expected(field: string, what: string, got: unknown): InputError {
  return new InputError(`Expected \`${field}\` to be ${what}, got ${describeValue(got)}`);
}

/** A job's function returned the wrong shape: a bug no retry can fix, so the task fails at once. */
export function wrongShape(field: string, what: string, got: unknown): PermanentError {
  return new PermanentError(expected(field, what, got).message);
}

/** "a whole number >= 1", or "from 1 to 10000" when there is an upper bound. */
export function wholeRange(min: number, max = Number.MAX_SAFE_INTEGER): string {
  return max === Number.MAX_SAFE_INTEGER
    ? `a whole number >= ${min}`
    : `a whole number from ${min} to ${max}`;
}

/** Checks that a value is a whole number from `min` to `max`, naming the field when it is not. */
export function wholeNumber(
  field: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw expected(field, wholeRange(min, max), value);
  }
  return value;
}

/**
 * The far side said "too many requests" (429) or "unavailable" (503). Every worker of the job
 * pauses for `retryAfterMs`, and the item is retried.
 */
export class RateLimitedError extends SluiceError {
  override name = 'RateLimitedError';
  constructor(
    readonly retryAfterMs: number,
    readonly status = 429,
    message = `rate limited (${status}); retry after ${Math.ceil(retryAfterMs / 1000)}s`,
  ) {
    super(message);
  }
}

/**
 * Reads a Retry-After header, in seconds or as an HTTP date, as milliseconds from now.
 * Missing or unreadable: `fallbackMs`.
 */
export function retryAfterMs(
  header: string | null | undefined,
  fallbackMs = 1000,
  now = Date.now(),
): number {
  if (!header) return fallbackMs;
  const seconds = Number(header.trim());
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? fallbackMs : Math.max(0, date - now);
}

/** Throws RateLimitedError for a 429 or 503 response, with its Retry-After; returns the response otherwise. */
export function throwIfThrottled<
  R extends { status: number; headers: { get(name: string): string | null } },
>(response: R): R {
  if (response.status === 429 || response.status === 503) {
    throw new RateLimitedError(retryAfterMs(response.headers.get('retry-after')), response.status);
  }
  return response;
}
