import { expected } from '../errors.ts';
import { validateAlert } from '../observe/alert.ts';
import type { Job } from './types.ts';

type ControlOptions = Pick<Job, 'alert' | 'onAlert' | 'timeout' | 'deadline'>;

/** Checks the options that stop a job or a task: `alert`, `onAlert`, `timeout` and `deadline`. */
export function validateControl(
  options: Partial<Record<keyof ControlOptions, unknown>>,
): ControlOptions {
  const { onAlert, timeout, deadline } = options;
  if (onAlert !== undefined && typeof onAlert !== 'function')
    throw expected('onAlert', 'a function', onAlert);
  if (timeout !== undefined && !(Number.isSafeInteger(timeout) && (timeout as number) >= 1))
    throw expected('timeout', 'a whole number of milliseconds >= 1', timeout);
  const isDate = deadline instanceof Date && !Number.isNaN(deadline.getTime());
  const isMs = Number.isSafeInteger(deadline) && (deadline as number) >= 1;
  if (deadline !== undefined && !isDate && !isMs)
    throw expected('deadline', 'a whole number of milliseconds >= 1, or a valid Date', deadline);
  const alert = validateAlert(options.alert);
  if (onAlert !== undefined && !alert)
    throw expected('alert', 'given with `onAlert`, e.g. { failureRate: 0.05 }', options.alert);
  return {
    alert,
    onAlert: onAlert as Job['onAlert'],
    timeout: timeout as number | undefined,
    deadline: deadline as Date | number | undefined,
  };
}
