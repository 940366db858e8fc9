import { expected } from '../errors.ts';

/** Reads an optional whole-number flag, e.g. `--max-parallelism 8`. */
export function wholeFlag(
  name: string,
  value: string | undefined,
  min: number,
): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min) {
    throw expected(`--${name}`, `a whole number >= ${min}`, value);
  }
  return parsed;
}
