import { availableParallelism } from 'node:os';
import { InputError } from '../../errors.ts';
import type { Job } from '../../job/types.ts';
import type { Events } from '../../observe/events.ts';
import { executorDefaults } from './options.ts';
import { processPerTaskExecutor } from './processPerTask.ts';
import type { RemoteWorkerOptions } from './remoteWorker.ts';
import type { Executor } from './types.ts';
import { bootFor, type WorkerBoot } from './workerBundle.ts';
import { workerPoolExecutor } from './workerPoolExecutor.ts';

/**
 * The executor for the job's mode, or undefined for `async` and `sequential`, which run tasks in
 * this process. Thread and process workers connect to `sourceUrl` themselves. A pooled worker
 * that dies and is replaced is reported on `events` (`executor:replaced`).
 */
export function createExecutor(job: Job, sourceUrl: string, events?: Events): Executor | undefined {
  const { mode, parallelism } = job.executor;
  if (mode === 'async' || mode === 'sequential') return undefined;
  if (!job.modulePath) {
    throw new InputError(
      `Executor mode \`${mode}\` imports the job in its workers: load the job by path (loadJob) rather than passing the value`,
    );
  }
  const modulePath = job.modulePath;
  let built: Promise<WorkerBoot> | undefined;
  const perWorker = parallelism === 0 ? 1 : job.funcCpu;
  // A function cannot cross to a worker; the worker takes the cost function from the module.
  const { cost: _cost, ...rateLimit } = job.rateLimit ?? {};
  const worker: RemoteWorkerOptions = {
    kind: mode,
    funcRamMb: job.funcRamMb,
    graceMs: executorDefaults.graceMs,
    // Built when the first worker starts, for every worker of the run.
    boot: () => {
      built ??= bootFor(modulePath);
      return built;
    },
    init: {
      type: 'init',
      modulePath,
      expected: {
        name: job.name,
        fingerprint: job.source.fingerprint,
        moduleDigest: job.moduleDigest,
      },
      sourceUrl,
      slots: perWorker,
      rateLimit: job.rateLimit ? rateLimit : undefined,
      pacing: job.pacing,
      hasAdaptive: job.adaptiveStart !== undefined,
    },
  };
  const executor =
    parallelism === 0
      ? processPerTaskExecutor(worker)
      : workerPoolExecutor(worker, parallelism ?? availableParallelism(), perWorker, (reason) =>
          events?.emit('executor:replaced', { kind: mode, reason: reason.message }),
        );
  return removingBootOnClose(executor, () => built);
}

/** Once the workers are gone, so is the file they started from. */
function removingBootOnClose(
  executor: Executor,
  built: () => Promise<WorkerBoot> | undefined,
): Executor {
  const close = executor.close.bind(executor);
  executor.close = async () => {
    await close();
    await (await built())?.dispose();
  };
  return executor;
}
