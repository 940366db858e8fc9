import { setTimeout as sleep } from 'node:timers/promises';

export interface Coalesced {
  /** Runs the work now, or once more after the run in progress; resolves when that run is over. */
  run(): Promise<void>;
  /** Resolves when no run is in progress. */
  settled(): Promise<void>;
}

/**
 * One run of `work` at a time for requests that can come in bursts (notifications, outcomes). A
 * request during a run starts exactly one more after it: the run in progress may have read state
 * from before the request. `gapMs` spaces such reruns; once `stopped()` is true nothing more runs.
 * `work` handles its own errors.
 */
export function coalesce(
  work: () => Promise<void>,
  options: { gapMs?: number; stopped?: () => boolean } = {},
): Coalesced {
  const stopped = options.stopped ?? (() => false);
  let current: Promise<void> | undefined;
  let again = false;
  const run = (): Promise<void> => {
    if (current) {
      again = true;
      return current;
    }
    if (stopped()) return Promise.resolve();
    current = (async () => {
      do {
        again = false;
        await work();
        if (again && options.gapMs && !stopped()) await sleep(options.gapMs);
      } while (again && !stopped());
    })().finally(() => {
      current = undefined;
    });
    return current;
  };
  return { run, settled: async () => await current };
}
