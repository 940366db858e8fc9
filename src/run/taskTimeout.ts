import { SluiceError } from '../errors.ts';

/** An attempt of a task ran past the job's `timeout`. It fails like any error, and is retried. */
export class TaskTimeoutError extends SluiceError {
  override name = 'TaskTimeoutError';
  constructor(
    readonly seq: number,
    readonly timeoutMs: number,
  ) {
    super(`Task ${seq} timed out after ${timeoutMs} ms`);
  }
}

export interface AttemptSignal {
  /** Fires on the run's abort, or when the attempt times out. */
  readonly signal: AbortSignal;
  readonly timedOut: boolean;
  /** Clears the timer, after waiting for what `onTimeout` started. */
  dispose(): Promise<void>;
}

/**
 * The signal one attempt of a task runs under: the run's abort signal, plus the job's timeout
 * when it has one.
 * `onTimeout` cancels what the attempt left running on the server (its query). A plain controller
 * linked by hand, not AbortSignal.any: on Node 20 every `any` over the long-lived run signal stays
 * reachable from it, about 50 bytes per attempt, forever.
 */
export function attemptSignal(
  abort: AbortSignal,
  timeoutMs: number | undefined,
  seq: number,
  onTimeout: () => Promise<void> | undefined,
): AttemptSignal {
  // A signal of its own even without a timeout: listeners a job adds to ctx.signal and never
  // removes then go with the attempt, instead of piling up on the run's signal.
  const controller = new AbortController();
  let timedOut = false;
  let cleanup: Promise<void> | undefined;
  const onAbort = () => controller.abort(abort.reason);
  if (abort.aborted) onAbort();
  else abort.addEventListener('abort', onAbort, { once: true });
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          controller.abort(new TaskTimeoutError(seq, timeoutMs));
          cleanup = onTimeout()?.catch(() => {});
        }, timeoutMs);
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose: async () => {
      clearTimeout(timer);
      abort.removeEventListener('abort', onAbort);
      // The worker must not start its next task while its connection is being cancelled.
      await cleanup;
    },
  };
}
