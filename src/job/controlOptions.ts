import { expected } from '../errors.ts';
import { type AlertOptions, validateAlert } from '../observe/alert.ts';
import { optionNames, refuseUnknownOptions } from '../optionNames.ts';
import type { Job } from './types.ts';

type ControlOptions = Pick<Job, 'alert' | 'onAlert' | 'timeout' | 'deadline'>;

const alertNames = optionNames<AlertOptions>({ failureRate: true, minItems: true, action: true });

/**
 * Checks the options that stop a job or a task: `alert`, `onAlert`, `timeout` and `deadline`.
 * `where` names the call they were given to, for an unknown option.
 */
export function validateControl(
  options: Partial<Record<keyof ControlOptions, unknown>>,
  where: string,
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
  if (typeof options.alert === 'object' && options.alert !== null)
    refuseUnknownOptions(options.alert, alertNames, { where, path: 'alert.' });
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
