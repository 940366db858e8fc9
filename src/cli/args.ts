import { expected, wholeRange } from '../errors.ts';

/** Reads an optional whole-number flag, e.g. `--max-parallelism 8`. */
export function wholeFlag(
  name: string,
  value: string | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw expected(`--${name}`, wholeRange(min, max), value);
  }
  return parsed;
}
