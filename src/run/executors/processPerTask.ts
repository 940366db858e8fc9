import { RemoteWorker, type RemoteWorkerOptions, relayingPauses } from './remoteWorker.ts';
import type { Executor, TaskCall } from './types.ts';
import { startFailure } from './workerPoolExecutor.ts';

/**
 * `process` with parallelism 0: every task runs in a fresh process that exits after reporting
 * its result. The store's cap bounds how many run at once.
 */
export function processPerTaskExecutor(worker: RemoteWorkerOptions): Executor {
  const stopping = new Set<Promise<void>>();
  const live = new Set<RemoteWorker>();
  let nextReservation = 0;
  // A 429 seen in one process holds the items of every process.
  const options = relayingPauses(worker, () => live);

  const retire = (done: RemoteWorker) => {
    live.delete(done);
    const stopped = done.stop().finally(() => stopping.delete(stopped));
    stopping.add(stopped);
  };

  return {
    // A process starts only when its task does: nothing to keep waiting.
    aheadOf: () => 0,
    async start() {
      // No pool waits up front, so one process proves the module loads in a worker.
      try {
        await (await RemoteWorker.start(options)).stop();
      } catch (error) {
        throw startFailure('process', error);
      }
    },
    async reserve(signals) {
      return signals.some((signal) => signal.aborted) ? undefined : { id: ++nextReservation };
    },
    async run(call: TaskCall) {
      const fresh = await RemoteWorker.start(options);
      live.add(fresh);
      try {
        return await fresh.run(call);
      } finally {
        retire(fresh);
      }
    },
    async close() {
      for (const running of [...live]) retire(running);
      await Promise.all(stopping);
    },
  };
}
