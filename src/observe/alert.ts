import { expected, wholeNumber } from '../errors.ts';

export type AlertAction = 'warn' | 'pause' | 'abort';

/** The failure-rate alert of a job. */
export interface AlertOptions {
  /** Trips when failed items / processed items exceeds this fraction, from 0 to 1. */
  failureRate: number;
  /** Processed items (done or failed, across every process) before the rate counts. Default 100. */
  minItems?: number;
  /**
   * `warn`: one warning line, the job goes on. `pause`: the job pauses (resumable with `sluice
   * resume`). `abort`: running tasks are aborted and the job fails. Default `warn`.
   */
  action?: AlertAction;
}

export const alertDefaults = { minItems: 100, action: 'warn' } satisfies Partial<AlertOptions>;

/** What the `onAlert` hook and the `job:alert` event receive when the alert trips. */
export interface AlertMetrics {
  /** Items done or failed since the job started or last resumed, by every process. */
  processed: number;
  failed: number;
  /** Items in the whole job. */
  total: number;
  /** failed / processed, from 0 to 1. */
  failureRate: number;
  /** Since this run started. */
  elapsedMs: number;
  /** Items processed per second during this run. */
  itemsPerSec: number;
  action: AlertAction;
  /** `failure rate 7.5% > 5% after 120 items`: also the job's status reason. */
  reason: string;
}

const actions: readonly AlertAction[] = ['warn', 'pause', 'abort'];

/** Checks a job's `alert` option and fills in its defaults; undefined when the job has none. */
export function validateAlert(alert: unknown): Required<AlertOptions> | undefined {
  if (alert === undefined) return undefined;
  if (typeof alert !== 'object' || alert === null)
    throw expected('alert', 'an object such as { failureRate: 0.05 }', alert);
  const { failureRate, minItems, action } = { ...alertDefaults, ...(alert as AlertOptions) };
  if (typeof failureRate !== 'number' || !(failureRate >= 0 && failureRate <= 1))
    throw expected('alert.failureRate', 'a number from 0 to 1', failureRate);
  wholeNumber('alert.minItems', minItems, 0);
  if (!actions.includes(action))
    throw expected('alert.action', '`warn`, `pause` or `abort`', action);
  return { failureRate, minItems, action };
}

/** Whether these counts trip the alert: enough items processed, and strictly more failing. */
export function alertTrips(
  counts: { processed: number; failed: number },
  alert: Required<AlertOptions>,
): boolean {
  if (counts.processed === 0 || counts.processed < alert.minItems) return false;
  return counts.failed / counts.processed > alert.failureRate;
}

/** `failure rate 7.5% > 5% after 120 items`. */
export function alertReason(
  counts: { processed: number; failed: number },
  alert: Required<AlertOptions>,
): string {
  const rate = percent(counts.failed / counts.processed);
  return `failure rate ${rate}% > ${percent(alert.failureRate)}% after ${counts.processed} items`;
}

function percent(fraction: number): string {
  return String(Number((fraction * 100).toFixed(2)));
}
