/** A rate limit as a job or parallelMap declares it. */
export type RateLimitOptions =
  /** Requests per second, across every process of the job. */
  | { perSecond: number; cost?: never }
  /** A budget per minute, e.g. LLM tokens; `cost` estimates what one item spends (default 1). */
  | { perMinute: number; cost?: (item: unknown) => number };

/** Spacing between the items of one worker, as a polite scraper sleeps between pages. */
export interface PacingOptions {
  /** Least time between two items of one worker. */
  minIntervalMs: number;
  /** Up to this much more, at random, on top. Default 0. */
  jitterMs?: number;
}

/** One acquisition; `settle` corrects its estimate once the real cost is known. */
export interface Permit {
  readonly cost: number;
  /** Records what was really spent: more than estimated takes the difference from the budget, less gives it back. */
  settle(actualCost: number): void;
}

/**
 * Hands out permission to spend units (requests, tokens) at a fixed rate. Implementations hold the
 * rate exactly: no sliding window of the limit's period ever holds more than its budget.
 */
export interface RateLimiter {
  /** Waits until `cost` units (default 1) may be spent. Rejects with the signal's reason if aborted. */
  acquire(cost?: number, signal?: AbortSignal): Promise<Permit>;
  /** Holds every acquirer until `untilMs` (epoch ms), e.g. for a 429's Retry-After. */
  pauseUntil(untilMs: number): void;
  /** Stops timers; pending acquisitions reject. */
  close(): void;
}
