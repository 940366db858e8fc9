/**
 * Reserves `units` consecutive slots of a rate schedule: slot i comes due at `startMs + i * intervalMs`
 * (epoch ms on this process's clock). The limiter releases permits from these slots; where they come
 * from decides how far the limit holds: one process (`createMemoryReserve`) or every process of a job
 * (`storeReserve` in `src/store/rateLimit.ts`).
 */
export type Reserve = (units: number) => Promise<{ startMs: number; intervalMs: number }>;

/**
 * Epoch ms with sub-millisecond resolution from the monotonic clock: at 5,000/s a slot is 0.2 ms
 * apart, finer than Date.now(), and a wall-clock step must not release a burst.
 */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * An in-process GCRA schedule. `tat` (theoretical arrival time) is the first slot not yet handed
 * out; a reservation starts there, or now if the schedule has fallen behind, so idle time is never
 * banked and turned into a burst later.
 */
export function createMemoryReserve(ratePerMs: number, now: () => number = epochNow): Reserve {
  const intervalMs = 1 / ratePerMs;
  let tat = Number.NEGATIVE_INFINITY;
  return async (units) => {
    const startMs = Math.max(tat, now());
    tat = startMs + units * intervalMs;
    return { startMs, intervalMs };
  };
}
