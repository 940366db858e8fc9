import type { Events } from '../observe/events.ts';

/**
 * Turns Ctrl-C into a graceful stop: the first SIGINT or SIGTERM stops claiming and lets running
 * tasks finish; the second aborts them and releases their claims.
 */
export function handleInterrupts(events: Events) {
  const stop = new AbortController();
  const abort = new AbortController();
  const onSignal = () => {
    if (!stop.signal.aborted) {
      events.emit('job:stopping', { reason: 'interrupt' });
      stop.abort(new Error('interrupted'));
    } else if (!abort.signal.aborted) {
      events.emit('job:stopping', { reason: 'abort' });
      abort.abort(new Error('aborted by a second interrupt'));
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stop: stop.signal,
    abort: abort.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
