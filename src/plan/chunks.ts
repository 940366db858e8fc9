import { createHash } from 'node:crypto';
import { expected, wholeNumber } from '../errors.ts';
import type { PlannedTask, Source } from '../job/types.ts';
import { type FileInput, readItems, resolveFile } from './fileItems.ts';

/** What `chunks` can split: an array, any (async) iterable, or a file of items. */
export type ChunkInput<Item> =
  | readonly Item[]
  | Iterable<Item>
  | AsyncIterable<Item>
  | FileInput
  | string;

/**
 * Splits items into chunks of `size`: each chunk is one task, and the job's `run` receives its
 * items and returns one outcome per item. Files and iterables stream into the store in batches,
 * so planning a file of any length holds only a few chunks in memory.
 */
export function chunks<Item = string>(input: ChunkInput<Item>, size: number): Source<Item[]> {
  wholeNumber('size', size, 1);
  const file =
    typeof input === 'string'
      ? resolveFile({ file: input })
      : isFileInput(input)
        ? resolveFile(input)
        : undefined;
  if (!file && !isIterable(input))
    throw expected('chunks(items)', 'an array, an iterable or a file', input);
  const items = file ? undefined : (input as Iterable<Item> | AsyncIterable<Item>);
  const describe = file
    ? `chunks(${file.file}, ${size})`
    : `chunks(${Array.isArray(items) ? `${items.length} items` : 'iterable'}, ${size})`;
  return {
    describe,
    fingerprint: fingerprintOf(file, items, size),
    unit: 'items',
    taskNoun: 'chunks',
    outcomes: true,
    input: (payload) => payload as Item[],
    async *plan(): AsyncGenerator<PlannedTask> {
      const stream = file
        ? (readItems(file) as AsyncIterable<Item>)
        : (items as Iterable<Item> | AsyncIterable<Item>);
      let chunk: Item[] = [];
      for await (const item of stream) {
        chunk.push(item);
        if (chunk.length === size) {
          yield { payload: chunk, items: chunk.length };
          chunk = [];
        }
      }
      if (chunk.length > 0) yield { payload: chunk, items: chunk.length };
    },
  };
}

function isFileInput(value: unknown): value is FileInput {
  return typeof value === 'object' && value !== null && 'file' in value && !isIterable(value);
}

function isIterable(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (Symbol.iterator in value || Symbol.asyncIterator in value)
  );
}

/**
 * Arrays are fingerprinted by content, files by name and format; an iterable can only be
 * trusted by the job's name, since reading it to hash it would consume it.
 */
function fingerprintOf(
  file: Required<FileInput> | undefined,
  items: unknown,
  size: number,
): string {
  const hash = createHash('sha256').update(`chunks:${size}:`);
  if (file) hash.update(JSON.stringify(file));
  else if (Array.isArray(items)) hash.update(JSON.stringify(items));
  else hash.update('iterable');
  return hash.digest('hex');
}
