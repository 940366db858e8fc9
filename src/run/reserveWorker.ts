import type { Claim, Store } from '../store/index.ts';
import type { Executor, Reservation } from './executors/types.ts';

// A task that finds its worker within this long is never marked: most wait for the task ahead of
// it to finish, and a write for each one that waits briefly would buy nothing.
const markAfterMs = 50;

export interface ReservedWorker {
  /** Room on a worker, or undefined when stopped first (the task never started). */
  room: Reservation | undefined;
  /** Settles once the store agrees the task is no longer waiting: await it before the task's last write. */
  unmarked: Promise<void>;
}

/**
 * Waits for room on a thread or process worker for a claimed task. One that waits longer than
 * `markAfterMs` is marked as waiting in the store, so that if this process dies before the task
 * reaches a worker, the task goes back to the queue with its attempt unspent (reclaimOrphans).
 */
export async function reserveWorker(
  store: Store,
  claim: Claim,
  executor: Executor,
  signals: AbortSignal[],
): Promise<ReservedWorker> {
  let marked: Promise<void> | undefined;
  const timer = setTimeout(() => {
    marked = store.markWaiting(claim, true).catch(() => {});
  }, markAfterMs);
  let room: Reservation | undefined;
  try {
    room = await executor.reserve(signals);
  } finally {
    clearTimeout(timer);
  }
  // A task that got no room is released, which clears the mark in the same write.
  const unmarked =
    marked && room ? marked.then(() => store.markWaiting(claim, false)).catch(() => {}) : marked;
  return { room, unmarked: unmarked ?? Promise.resolve() };
}
