import type { Events, ProgressSnapshot } from './events.ts';

/**
 * Adds the items that running chunks have finished (`task:items`) to the store's counts, which
 * take a chunk's items only when the whole chunk is recorded. The store stays the only source of
 * the summary; this is what the progress line shows in between.
 *
 * A chunk's items leave the provisional count when its task ends, and a snapshot read just before
 * that chunk was recorded can arrive just after: the line would step back by a chunk for a moment.
 * So the counts shown never go down, except when a task's work is thrown away (a retry, a
 * release, a refused completion), which can lower them for real.
 */
export function liveCounts(events: Events) {
  const running = new Map<number, { done: number; failed: number }>();
  let floor = { done: 0, failed: 0, thisRun: 0 };
  const settle = (seq: number) => running.delete(seq);
  const discard = (seq: number) => {
    running.delete(seq);
    floor = { done: 0, failed: 0, thisRun: 0 };
  };
  const stops = [
    events.on('task:items', ({ seq, done, failed }) => running.set(seq, { done, failed })),
    events.on('task:done', ({ seq, accepted }) => (accepted ? settle(seq) : discard(seq))),
    events.on('task:failed', ({ seq }) => settle(seq)),
    events.on('task:retrying', ({ seq }) => discard(seq)),
    events.on('task:released', ({ seq }) => discard(seq)),
  ];
  return {
    /** The snapshot with running chunks' finished items counted. */
    add(p: ProgressSnapshot): ProgressSnapshot {
      let done = 0;
      let failed = 0;
      for (const items of running.values()) {
        done += items.done;
        failed += items.failed;
      }
      floor = {
        done: Math.max(floor.done, p.doneItems + done),
        failed: Math.max(floor.failed, p.failedItems + failed),
        thisRun: Math.max(floor.thisRun, p.itemsThisRun + done),
      };
      return {
        ...p,
        doneItems: floor.done,
        failedItems: floor.failed,
        itemsThisRun: floor.thisRun,
      };
    },
    close() {
      for (const stop of stops) stop();
    },
  };
}
