import { createHash } from 'node:crypto';
import { expected, InputError, wholeNumber } from '../errors.ts';
import type { FeedBatch, Source } from '../job/types.ts';
import { optionNames, refuseUnknownOptions } from '../optionNames.ts';

/** Options of `microBatch`. */
export interface MicroBatchOptions<Item> {
  /** A batch closes when it holds this many items. */
  maxItems: number;
  /**
   * ...or this long after its first item arrived, whichever comes first. Near-real-time work
   * usually wants 50 to 500 ms; any whole number >= 1 is accepted.
   */
  maxWaitMs: number;
  /**
   * Where the stream stands after `item`, stored with each appended batch. With a stream given as
   * a function `(after) => iterable`, a resumed job calls it with the last stored position, so
   * no appended item is read again and none is lost.
   */
  position?: (item: Item) => string;
}

const microBatchNames = optionNames<MicroBatchOptions<unknown>>({
  maxItems: true,
  maxWaitMs: true,
  position: true,
});

/** A stream of items: as is, or restartable from a stored position. */
export type MicroBatchStream<Item> =
  | AsyncIterable<Item>
  | ((after: string | undefined) => AsyncIterable<Item>);

/**
 * Turns a continuous stream into batches, each one task, appended while the job runs: a batch
 * closes at `maxItems` or `maxWaitMs` after its first item. The job finishes when the stream
 * ends and every batch is done. Batches run with `run` or `each` like chunks, with the same
 * retries and per-item outcomes.
 */
export function microBatch<Item>(
  stream: MicroBatchStream<Item>,
  options: MicroBatchOptions<Item>,
): Source<Item[]> {
  const resumable = typeof stream === 'function';
  if (!resumable && !isAsyncIterable(stream))
    throw expected(
      'microBatch(stream)',
      'an async iterable or a function (after) => iterable',
      stream,
    );
  if (typeof options !== 'object' || options === null)
    throw expected('microBatch options', 'an object { maxItems, maxWaitMs }', options);
  refuseUnknownOptions(options, microBatchNames, { where: 'microBatch(stream, {...})' });
  const maxItems = wholeNumber('maxItems', options.maxItems, 1);
  const maxWaitMs = wholeNumber('maxWaitMs', options.maxWaitMs, 1);
  const position = options.position;
  if (position !== undefined && typeof position !== 'function')
    throw expected('position', 'a function (item) => string', position);
  if (resumable !== (position !== undefined))
    throw new InputError(
      'Expected `position` and a stream given as a function (after) => iterable together: one resumes the other',
    );
  return {
    describe: `microBatch(${maxItems} items, ${maxWaitMs} ms)`,
    fingerprint: createHash('sha256')
      .update(`microBatch:${maxItems}:${maxWaitMs}:${resumable}`)
      .digest('hex'),
    unit: 'items',
    taskNoun: 'batches',
    outcomes: true,
    input: (payload) => payload as Item[],
    // Nothing is planned up front: batches are appended as the stream flows.
    async *plan() {},
    async *feed(after, signal): AsyncGenerator<FeedBatch> {
      const items = resumable ? stream(after) : stream;
      for await (const batch of batches(items, maxItems, maxWaitMs, signal)) {
        const last = batch.at(-1) as Item;
        yield { items: batch, position: position ? checkedPosition(position(last)) : undefined };
      }
    },
  };
}

function checkedPosition(value: unknown): string {
  if (typeof value !== 'string') throw expected('position(item)', 'a string', value);
  return value;
}

const timedOut = Symbol('timedOut');

/**
 * Groups a stream into batches of at most `maxItems`, each closed `maxWaitMs` after its first
 * item at the latest. The pending `next()` survives a timeout, so no item is dropped between
 * windows. Stops (dropping the open batch, which was never appended) when `signal` fires.
 */
export async function* batches<Item>(
  stream: AsyncIterable<Item>,
  maxItems: number,
  maxWaitMs: number,
  signal: AbortSignal,
): AsyncGenerator<Item[]> {
  const iterator = stream[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<Item>> | undefined;
  let batch: Item[] = [];
  let deadline = 0;
  try {
    while (!signal.aborted) {
      pending ??= iterator.next();
      const wait = batch.length === 0 ? undefined : Math.max(0, deadline - performance.now());
      const next = await nextWithin(pending, wait, signal);
      if (signal.aborted) return;
      if (next === timedOut) {
        yield batch;
        batch = [];
        continue;
      }
      pending = undefined;
      if (next.done) break;
      if (batch.length === 0) deadline = performance.now() + maxWaitMs;
      batch.push(next.value);
      if (batch.length >= maxItems) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0 && !signal.aborted) yield batch;
  } finally {
    // A stream blocked in next() would hold return() until its next item: do not wait for it.
    void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

/**
 * The pending item, or `timedOut` when the window closes or the signal fires first. Every listener
 * and timer goes when it settles: a stream runs for days, one race per item.
 */
function nextWithin<T>(
  pending: Promise<T>,
  waitMs: number | undefined,
  signal: AbortSignal,
): Promise<T | typeof timedOut> {
  return new Promise((resolve, reject) => {
    const settle = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    };
    const stop = () => {
      settle();
      resolve(timedOut);
    };
    const timer = waitMs === undefined ? undefined : setTimeout(stop, waitMs);
    signal.addEventListener('abort', stop, { once: true });
    pending.then(
      (value) => {
        settle();
        resolve(value);
      },
      (error) => {
        settle();
        reject(error);
      },
    );
  });
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
