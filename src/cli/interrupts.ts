import type { Events } from '../observe/events.ts';

/** How long running tasks may take to finish after the first signal; `--grace` overrides it. */
export const defaultGraceSeconds = 30;

/**
 * Turns Ctrl-C and SIGTERM into a graceful stop: the first signal stops claiming and lets running
 * tasks finish for up to `graceSeconds`; then, or at a second signal, they are aborted and their
 * claims released. Kubernetes sends SIGTERM once and SIGKILLs after its own grace period, so the
 * timer is what turns a pod's shutdown into released claims instead of orphaned ones.
 */
export function handleInterrupts(events: Events, graceSeconds = defaultGraceSeconds) {
  const stop = new AbortController();
  const abort = new AbortController();
  let graceTimer: NodeJS.Timeout | undefined;
  const abortNow = (why: string) => {
    if (abort.signal.aborted) return;
    clearTimeout(graceTimer);
    events.emit('job:stopping', { reason: 'abort' });
    abort.abort(new Error(why));
  };
  const onSignal = () => {
    if (!stop.signal.aborted) {
      events.emit('job:stopping', { reason: 'interrupt' });
      stop.abort(new Error('interrupted'));
      graceTimer = setTimeout(
        () => abortNow(`the ${graceSeconds}s grace period ran out`),
        graceSeconds * 1000,
      );
      // The timer alone must not keep a process alive whose work already finished.
      graceTimer.unref();
    } else abortNow('aborted by a second interrupt');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stop: stop.signal,
    abort: abort.signal,
    dispose: () => {
      clearTimeout(graceTimer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
