// A process worker must not outlive the process that started it (a `sluice run` or a `sluice
// worker`): once that one is gone, nobody can take a result, and the worker would go on spending
// CPU and holding connections. Threads need none of this: they end with their process.
import { Worker } from 'node:worker_threads';

/**
 * Run in a thread of its own, so it works while the worker's main thread is busy: a task that
 * hashes for a minute in one synchronous loop never reaches its event loop, so the IPC channel's
 * close (below) would wait for the loop to end. An orphan is adopted by init or a subreaper,
 * which changes `process.ppid`; reading it is one syscall, so looking every 100 ms costs nothing.
 * SIGKILL, not `process.exit`, because `exit` from a thread ends only the thread.
 */
const watchdog = `
const { workerData: coordinator } = require('node:worker_threads');
setInterval(() => {
  if (process.ppid !== coordinator) process.kill(process.pid, 'SIGKILL');
}, 100);
`;

/** Ends this process worker when its coordinator dies or lets go of it. */
export function exitWithCoordinator(): void {
  const coordinator = process.ppid;
  // The coordinator died or let go: nobody can take a result any more. Seen at once while the
  // event loop runs, which covers an idle worker and one whose task awaits I/O.
  process.on('disconnect', () => process.exit(1));
  // It died while this worker was still loading, before the listener above was there.
  if (!process.connected) process.exit(1);
  const thread = new Worker(watchdog, { eval: true, workerData: coordinator });
  // The watchdog keeps nothing alive, and if it fails the channel's close above still works.
  thread.unref();
  thread.on('error', () => {});
}
