import { SluiceError, wrongShape } from '../errors.ts';

/** A MapReduce key: what a Map or a plain object may use and JSON can keep. */
export type PartialKey = string | number;

/** Merges two partials of one key; `job.combine`, with its types erased. */
export type Combine = (a: unknown, b: unknown, key: PartialKey) => unknown;

/**
 * Turns what a map task returned into the report stored for it: its entries, `[key, partial]`, in
 * the order it gave them. A Map keeps number keys as numbers (a JSON object could not). Anything
 * else is a bug in the job that retrying cannot fix, so it fails the task at once.
 */
export function keyedPartials(value: unknown): [PartialKey, unknown][] {
  let entries: [unknown, unknown][];
  if (value instanceof Map) entries = [...value.entries()];
  else if (isPlainObject(value)) entries = Object.entries(value);
  else {
    throw wrongShape(
      'run()',
      'a Map or a plain object of key → partial (the job gives `combine`)',
      value,
    );
  }
  for (const [key] of entries) {
    if (typeof key !== 'string' && !(typeof key === 'number' && Number.isFinite(key))) {
      throw wrongShape('run() keys', 'strings or finite numbers', key);
    }
  }
  return entries as [PartialKey, unknown][];
}

/**
 * Folds the stored partials of every finished task, in plan order: for each key, the first
 * partial, then `combine(acc, next, key)` with each later one. Plan order, not finishing order,
 * makes the result the same on every run even when `combine` is not commutative. Keys are
 * sorted in the result (see `sortedRecord`), and a number key and its string form are one key.
 */
export async function combineReports(
  combine: Combine,
  reports: AsyncIterable<{ seq: number; report: unknown }>,
): Promise<Record<string, unknown>> {
  const combined = new Map<string, unknown>();
  for await (const { seq, report } of reports) {
    if (!Array.isArray(report)) {
      throw new SluiceError(
        `Task ${seq} holds a report that is not keyed partials; it ran before the job gave \`combine\`. Run with --rerun to plan the job again`,
      );
    }
    for (const [key, partial] of report as [PartialKey, unknown][]) {
      const id = String(key);
      combined.set(id, combined.has(id) ? combine(combined.get(id), partial, key) : partial);
    }
  }
  return sortedRecord(combined);
}

/**
 * A record with its keys in sorted order: whole-number keys first in numeric order (JavaScript
 * objects put them first whatever is done), then the others as strings. The store keeps results
 * as jsonb, which orders keys its own way, so a stored result is sorted again when read.
 */
export function sortedRecord(entries: Map<string, unknown> | Record<string, unknown>) {
  const map = entries instanceof Map ? entries : new Map(Object.entries(entries));
  const record: Record<string, unknown> = {};
  for (const key of [...map.keys()].sort(compareKeys)) record[key] = map.get(key);
  return record;
}

const arrayIndex = /^(0|[1-9]\d*)$/;

function compareKeys(a: string, b: string): number {
  const aIndex = arrayIndex.test(a);
  const bIndex = arrayIndex.test(b);
  if (aIndex && bIndex) return Number(a) - Number(b);
  if (aIndex !== bIndex) return aIndex ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A job's stored result as users see it: a MapReduce result gets its keys sorted again. */
export function presentResult(row: { result: unknown; keyedResult: boolean }): unknown {
  return row.keyedResult && isPlainObject(row.result) ? sortedRecord(row.result) : row.result;
}
