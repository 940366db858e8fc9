import { availableParallelism } from 'node:os';
import { expected, wholeNumber } from '../../errors.ts';
import type { ExecutorOptions, Job, JobOptions } from '../../job/types.ts';
import { optionNames, refuseUnknownOptions } from '../../optionNames.ts';

export const executorModes = ['sequential', 'async', 'thread', 'process'] as const;

/** Every executor default in one place. */
export const executorDefaults = {
  executor: { mode: 'async' } as ExecutorOptions,
  funcCpu: 1,
  // How long a worker may take to stop after its task was aborted, or after the poison pill.
  graceMs: 5000,
} satisfies Pick<Job, 'executor' | 'funcCpu'> & { graceMs: number };

/**
 * The least heap a thread or process worker gets. Loading tsx, postgres.js, sluice and a small job
 * needs about 10 MB (a thread worker dies while loading at 8 MB); at 16 MB a small CPU-bound job
 * ran twice as slowly from garbage collection. 32 MB leaves room for the job's own data.
 */
export const minFuncRamMb = 32;

type ExecutorFields = Pick<Job, 'executor' | 'funcRamMb' | 'funcCpu'>;

const executorNames = optionNames<ExecutorOptions>({ mode: true, parallelism: true });

/**
 * Checks `executor`, `funcRamMb` and `funcCpu` together, naming the field at fault. A job that
 * names no executor may still set the worker resources, for a mode chosen on the command line.
 * `where` names the call they were given to, for an unknown option.
 */
export function validateExecutor(
  options: Pick<JobOptions<unknown, unknown, unknown>, 'executor' | 'funcRamMb' | 'funcCpu'>,
  where = 'defineJob({...})',
): ExecutorFields {
  const given: ExecutorOptions = options.executor ?? executorDefaults.executor;
  if (typeof given !== 'object' || given === null) {
    throw expected('executor', 'an object such as { mode: `thread`, parallelism: 2 }', given);
  }
  refuseUnknownOptions(given, executorNames, { where, path: 'executor.' });
  const mode = given.mode;
  if (!executorModes.includes(mode)) {
    throw expected('executor.mode', executorModes.map((m) => `\`${m}\``).join(', '), mode);
  }
  const parallelism = given.parallelism;
  if (parallelism !== undefined) {
    wholeNumber('executor.parallelism', parallelism, 0);
    if (parallelism === 0 && mode !== 'process')
      throw expected('executor.parallelism', '>= 1 (0, a process per task, is for `process`)', 0);
    if (mode === 'sequential' && parallelism !== 1)
      throw expected('executor.parallelism', '1 for mode `sequential`', parallelism);
  }
  const remote = mode === 'thread' || mode === 'process';
  const funcRamMb = options.funcRamMb;
  if (funcRamMb !== undefined) {
    if (
      typeof funcRamMb !== 'number' ||
      !Number.isSafeInteger(funcRamMb) ||
      funcRamMb < minFuncRamMb
    )
      throw expected('funcRamMb', `a whole number of MB >= ${minFuncRamMb}`, funcRamMb);
    if (!remote && options.executor !== undefined)
      throw expected('funcRamMb', 'used with executor mode `thread` or `process`', funcRamMb);
  }
  const funcCpu = options.funcCpu ?? executorDefaults.funcCpu;
  wholeNumber('funcCpu', funcCpu, 1);
  if (funcCpu > 1 && options.executor !== undefined && (mode !== 'process' || parallelism === 0))
    throw expected('funcCpu', 'used with executor mode `process` and parallelism >= 1', funcCpu);
  const executor: ExecutorOptions = parallelism === undefined ? { mode } : { mode, parallelism };
  return { executor, funcRamMb, funcCpu };
}

/**
 * Tasks this process runs at once, which sizes its worker pool: the pool's size for threads and
 * processes (times `funcCpu`), the cap for `async` and for a process per task.
 */
export function localSlots(job: Job, cap: number, concurrency?: number): number {
  const { mode, parallelism } = job.executor;
  if (mode === 'sequential') return 1;
  if (parallelism === 0) return Math.min(concurrency ?? cap, cap);
  if (mode === 'async') return Math.min(concurrency ?? parallelism ?? cap, cap);
  const slots = (parallelism ?? availableParallelism()) * job.funcCpu;
  return Math.min(concurrency ?? slots, slots);
}
