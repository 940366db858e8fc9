import { SluiceError, toError } from '../errors.ts';
import type { Events } from '../observe/events.ts';
import type { JobState, Store } from '../store/index.ts';
import { warnUnlessGone } from '../store/reconnect.ts';
import { coalesce } from './coalesce.ts';

export interface ControlSignalOptions {
  store: Store;
  jobId: string;
  jobName: string;
  events: Events;
  /** The caller's own signals (Ctrl-C); the returned ones fire on these too. */
  stop: AbortSignal;
  abort: AbortSignal;
  /** When this run must end: ms after `runStartedAt`, or a Date. */
  deadline?: number | Date;
  /** When the run started, in epoch ms. */
  runStartedAt: number;
}

/** The fallback poll, for a lost notification or a connection that cannot LISTEN. */
const pollMs = 1000;

/** What the worker pool obeys: stop claiming, and abort running tasks. */
export interface ControlSignals {
  /** Fires when the job is paused, cancelled or failed, or on the caller's stop. */
  readonly stop: AbortSignal;
  /** Fires when the job is cancelled or failed by its alert or deadline, or on the caller's abort. */
  readonly abort: AbortSignal;
  /** Reads the job's status now, after this process changed it itself. */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** The reason a running task of a stopped job is aborted with. */
export class JobStoppedError extends SluiceError {
  override name = 'JobStoppedError';
}

// setTimeout fires at once for delays past this (about 24.8 days).
const longestTimer = 2 ** 31 - 1;

/**
 * Turns changes of the job's status, made by any process on any machine, into this process's
 * stop and abort signals. A LISTEN on the jobs channel hears them at once (a pause or cancel fires
 * the signals from the notice itself, before reading the job); a poll each second is
 * the fallback for a lost notification or a connection that cannot LISTEN. The job's deadline, if
 * any, fails the job the same way, so every process stops.
 */
export async function watchJobControl(o: ControlSignalOptions): Promise<ControlSignals> {
  const stop = new AbortController();
  const abort = new AbortController();

  /** Fires the signals for a stopped job: stop claiming and, unless merely paused, abort. */
  const halt = (status: JobState['status'], reason: string | null) => {
    if (!stop.signal.aborted) stop.abort(new JobStoppedError(`Job ${o.jobName} is ${status}`));
    if (status !== 'paused' && !abort.signal.aborted) {
      const why = reason === null ? '' : `: ${reason}`;
      abort.abort(new JobStoppedError(`Job ${o.jobName} is ${status}${why}`));
    }
  };

  let announced = false;
  const apply = (state: JobState | undefined) => {
    if (!state || state.status === 'running' || state.status === 'done') return;
    // A job that failed by itself (its tasks failed) has nothing left to stop.
    if (state.status === 'failed' && !state.stoppedBy) return;
    if (!announced) {
      announced = true;
      const { status, statusReason: reason } = state;
      o.events.emit('job:control', { job: o.jobName, status, reason });
    }
    halt(state.status, state.statusReason);
  };

  // A change notified during a read may have committed after that read began: read again.
  const reads = coalesce(async () => {
    try {
      apply(await o.store.jobState(o.jobId));
    } catch (error) {
      warnUnlessGone("reading the job's status failed", error);
    }
  });
  const check = reads.run;

  // Listening starts in the background: a LISTEN connection still reconnecting after an outage
  // must not hold up the run. Until it is up, the first read and the poll below see changes.
  const listening = o.store
    .listenJobs((jobId, status) => {
      if (jobId !== o.jobId) return;
      // A pause or cancel takes effect as the notice arrives: a read first would add a round
      // trip (and a queue behind this process's busy pool) before any worker stops. The read
      // below still brings the reason, and catches a change that overtook this one.
      if (status === 'paused' || status === 'cancelled') halt(status, null);
      void check();
    })
    .catch((error: unknown) => {
      warnUnlessGone('cannot LISTEN for job changes (polling each second)', error);
      return undefined;
    });
  // The job may have changed before the LISTEN began.
  void check();
  const poll = setInterval(() => void check(), pollMs);
  poll.unref();
  const deadline = o.deadline === undefined ? undefined : watchDeadline(o, check);

  return {
    stop: AbortSignal.any([o.stop, stop.signal]),
    abort: AbortSignal.any([o.abort, abort.signal]),
    check,
    close: async () => {
      clearInterval(poll);
      deadline?.cancel();
      await reads.settled();
      void listening.then((unlisten) => unlisten?.().catch(() => {}));
    },
  };
}

/** Fails the job when its deadline passes; every process then stops through its status. */
function watchDeadline(o: ControlSignalOptions, check: () => Promise<void>) {
  const given = o.deadline as number | Date;
  const at = typeof given === 'number' ? o.runStartedAt + given : given.getTime();
  const shown = typeof given === 'number' ? `${given} ms` : given.toISOString();
  let timer: NodeJS.Timeout | undefined;
  const fire = async () => {
    const left = at - Date.now();
    if (left > 0) {
      timer = setTimeout(fire, Math.min(left, longestTimer));
      timer.unref();
      return;
    }
    try {
      await o.store.changeJobStatus(o.jobId, {
        from: ['running'],
        to: 'failed',
        reason: `Job ${o.jobName} passed its deadline of ${shown}`,
        by: 'deadline',
      });
    } catch (error) {
      process.emitWarning(
        `sluice: failing the job at its deadline failed: ${toError(error).message}`,
      );
    }
    await check();
  };
  timer = setTimeout(fire, Math.max(0, Math.min(at - Date.now(), longestTimer)));
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
}
