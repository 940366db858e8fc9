import { toError } from '../errors.ts';
import type { Events } from '../observe/events.ts';
import type { Store } from '../store/index.ts';
import { isDatabaseGone } from '../store/reconnect.ts';

export interface Housekeeping {
  store: Store;
  jobId: string;
  events: Events;
  /** Work was freed here (a dead process's tasks came back): look for it now. */
  wake(): void;
  /** The database is gone: nothing this process runs could be recorded. */
  fail(error: unknown): void;
}

/**
 * Reclaims tasks of dead processes every 2 s (a dead process's tasks run again within 5 s), and
 * renews this process's leases every 10 s. Returns the timer, for clearInterval.
 */
export function startHousekeeping(h: Housekeeping): NodeJS.Timeout {
  let ticks = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      if (!(await h.store.checkLiveness())) {
        process.emitWarning(
          'sluice: this worker lost its database session (a partition?); it rejoined under a new id, and its running tasks will be redone elsewhere',
        );
      }
      const count = await h.store.reclaimOrphans(h.jobId);
      if (count > 0) {
        h.events.emit('task:reclaimed', { count });
        h.wake();
      }
      if (++ticks % 5 === 0) await h.store.renewLeases(h.jobId);
    } catch (error) {
      // Without the database nothing this process runs can be recorded: end the run now rather
      // than when each task tries to.
      if (isDatabaseGone(error)) h.fail(error);
      else process.emitWarning(`sluice: housekeeping failed: ${toError(error).message}`);
    } finally {
      busy = false;
    }
  }, 2000);
  timer.unref();
  return timer;
}
