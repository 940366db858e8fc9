import type { Job } from '../job/types.ts';

/**
 * Delay before the next try: exponential from `baseMs`, capped at `maxMs`, with "equal jitter"
 * (half fixed, half random) so retries of many tasks that failed together spread out.
 */
export function backoffMs(
  failedAttempt: number,
  retry: Job['retry'],
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.max(0, failedAttempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
