import { expected } from '../errors.ts';
import type { ExecutorOptions, Job } from '../job/types.ts';
import { executorModes, minFuncRamMb, validateExecutor } from '../run/executors/options.ts';
import { wholeFlag } from './args.ts';

/** What the executor flags (flags.ts `executorFlags`) parse to. */
export interface ExecutorFlags {
  executor?: string;
  parallelism?: string;
  funcRamMb?: string;
  funcCpu?: string;
}

/**
 * Applies `--executor thread[:N]`, `--parallelism N`, `--func-ram-mb N` and `--func-cpu N` over
 * the job's own settings, then checks the result as the job's options are checked.
 */
export function withExecutorFlags(job: Job, flags: ExecutorFlags): Job {
  let executor: ExecutorOptions = job.executor;
  if (flags.executor !== undefined) {
    const [mode, count, extra] = flags.executor.split(':');
    if (!executorModes.includes(mode as ExecutorOptions['mode']) || extra !== undefined) {
      throw expected(
        '--executor',
        `a mode (${executorModes.map((m) => `\`${m}\``).join(', ')}), optionally with \`:N\` workers`,
        flags.executor,
      );
    }
    const parallelism = count === undefined ? undefined : wholeFlag('executor', count, 0);
    executor = { mode: mode as ExecutorOptions['mode'], parallelism };
    if (parallelism !== undefined && flags.parallelism !== undefined) {
      throw expected('--parallelism', 'left out when --executor gives `:N`', flags.parallelism);
    }
  }
  const parallelism = wholeFlag('parallelism', flags.parallelism, 0);
  if (parallelism !== undefined) executor = { ...executor, parallelism };
  // The job's own worker resources apply only where they can; a flag is checked like an option.
  const pooled = executor.mode === 'process' && executor.parallelism !== 0;
  const remote = executor.mode === 'thread' || executor.mode === 'process';
  return {
    ...job,
    ...validateExecutor({
      executor,
      funcRamMb:
        wholeFlag('func-ram-mb', flags.funcRamMb, minFuncRamMb) ??
        (remote ? job.funcRamMb : undefined),
      funcCpu: wholeFlag('func-cpu', flags.funcCpu, 1) ?? (pooled ? job.funcCpu : undefined),
    }),
  };
}
