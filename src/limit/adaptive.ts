import { epochNow } from './reserve.ts';
import { checkParallelism } from './validate.ts';

/** What one finished task tells the cap. */
export interface TaskSignal {
  ok: boolean;
  latencyMs: number;
  /** The far side said slow down: 429 or 503. */
  throttled?: boolean;
  timedOut?: boolean;
}

export type CapChangeReason = 'clean' | 'throttled' | 'timeout' | 'latency';

export interface AdaptiveCap {
  record(signal: TaskSignal): void;
  current(): number;
}

export interface AdaptiveCapDeps {
  now?: () => number;
  onChange?: (cap: number, reason: CapChangeReason) => void;
  /** Results per judgement; a window is also at least one result per live task. Default 20. */
  windowSize?: number;
  /** A window is flat while its median latency stays within this × the baseline. Default 1.2. */
  flatRatio?: number;
  /** A median above this × the baseline is rising latency, and halves the cap. Default 1.5. */
  risingRatio?: number;
  /** At most one halving per this long. Default 1,000 ms. */
  cooldownMs?: number;
}

// Failures that are not throttling (a 404, a bad row) do not halve the cap, but a window whose
// failure rate is this much above the baseline's is not clean, so it does not raise it either.
const errorSlack = 0.05;

/**
 * AIMD concurrency: start below the external system's limit, raise the cap by 1 after each
 * window of clean results whose latency stays flat, halve it (never below 1) on a 429/503, a
 * timeout or rising latency. Pure logic: the caller feeds it results and applies `current()`.
 */
export function createAdaptiveCap(
  options: { start: number; max: number },
  deps: AdaptiveCapDeps = {},
): AdaptiveCap {
  const { start, max } = checkParallelism(options);
  const now = deps.now ?? epochNow;
  const { windowSize = 20, flatRatio = 1.2, risingRatio = 1.5, cooldownMs = 1000 } = deps;
  let cap = start;
  let latencies: number[] = [];
  let failures = 0;
  let baseline: { p50: number; errorRate: number } | undefined;
  let calmFrom = Number.NEGATIVE_INFINITY;

  const change = (next: number, reason: CapChangeReason) => {
    latencies = [];
    failures = 0;
    if (next === cap) return;
    cap = next;
    deps.onChange?.(cap, reason);
  };

  // Results of tasks started before a halving report the same congestion again; one cooldown
  // keeps a burst of them from halving the cap down to 1.
  const halve = (reason: CapChangeReason) => {
    const t = now();
    if (t < calmFrom) return;
    calmFrom = t + cooldownMs;
    change(Math.max(1, Math.floor(cap / 2)), reason);
  };

  /** Judges a full window: raise on flat and clean, halve on rising latency, else hold. */
  const judge = (p50: number, errorRate: number) => {
    if (!baseline) {
      baseline = { p50, errorRate };
    } else if (p50 > baseline.p50 * risingRatio) {
      // The latency the new cap settles at is measured afresh, so a server that simply got
      // slower is not halved forever.
      baseline = undefined;
      halve('latency');
      return;
    } else if (p50 > baseline.p50 * flatRatio || errorRate > baseline.errorRate + errorSlack) {
      return;
    } else {
      baseline = {
        p50: Math.min(baseline.p50, p50),
        errorRate: Math.min(baseline.errorRate, errorRate),
      };
    }
    if (cap < max) change(cap + 1, 'clean');
  };

  return {
    current: () => cap,
    record(signal) {
      if (signal.throttled || signal.timedOut) {
        halve(signal.throttled ? 'throttled' : 'timeout');
        return;
      }
      latencies.push(signal.latencyMs);
      if (!signal.ok) failures++;
      if (latencies.length < Math.max(windowSize, cap)) return;
      const p50 = median(latencies);
      const errorRate = failures / latencies.length;
      latencies = [];
      failures = 0;
      judge(p50, errorRate);
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
