import { SluiceError } from '../errors.ts';

/**
 * Thrown by `parallelMap` under `stopOnError` when an item fails. It wraps rather than mutates the
 * original error, which may be frozen or shared between items: the original is `cause`, the same
 * object the function threw (a non-Error throw arrives wrapped by `toError`).
 */
export class ParallelMapError extends SluiceError {
  override name = 'ParallelMapError';
  constructor(
    /** The failed input's position in `inputs`, from 0. */
    readonly index: number,
    /** What the function threw on its last try. */
    override readonly cause: Error,
  ) {
    super(`Item ${index} failed: ${cause.message}`, { cause });
  }
}
