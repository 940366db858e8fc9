import type { Outcome } from '../job/outcome.ts';
import type { AlertMetrics } from './alert.ts';
import type { RunSummary } from './summary.ts';

export interface ProgressSnapshot {
  totalTasks: number;
  totalItems: number;
  doneTasks: number;
  doneItems: number;
  failedTasks: number;
  failedItems: number;
  runningTasks: number;
  /** Items finished since this run started, by any process. */
  itemsThisRun: number;
  elapsedMs: number;
}

/** Everything a run reports, by `noun:verb`. Progress output, metrics and summaries read only these. */
export interface SluiceEvents {
  'job:planned': { job: string; created: boolean; tasks: number; items: number; unit: string };
  /** A worker waits for its job: not planned yet, or finished (until a rerun plans it again). */
  'job:waiting': { job: string; finished: boolean };
  'job:progress': ProgressSnapshot;
  'job:stopping': { reason: 'interrupt' | 'abort' };
  'job:done': RunSummary;
  /** The job was paused, cancelled, or failed by its alert or deadline, by this or another process. */
  'job:control': { job: string; status: 'paused' | 'cancelled' | 'failed'; reason: string | null };
  /** The failure-rate alert tripped; emitted once per trip, by the process that tripped it. */
  'job:alert': AlertMetrics;
  'task:claimed': { seq: number; attempt: number };
  /**
   * Items of a running chunk that this attempt has finished so far (`each` returned or gave up),
   * counted as they finish. Provisional: the store counts them once the chunk is recorded, and a
   * retried chunk starts again from zero.
   */
  'task:items': { seq: number; done: number; failed: number };
  'task:done': { seq: number; items: number; ms: number; accepted: boolean };
  'task:retrying': { seq: number; attempt: number; error: Error; delayMs: number };
  'task:failed': { seq: number; attempt: number; error: Error };
  'task:released': { seq: number };
  /** Per-item results of a chunk, as recorded in the store. */
  'task:outcomes': { seq: number; outcomes: readonly Outcome[] };
  'task:reclaimed': { count: number };
  /** One claim statement returned, with `tasks` claimed (0: nothing runnable, or no room under the cap). */
  'claim:done': { tasks: number; ms: number };
  /** A permit of the job's rate limit was granted after `ms` of waiting (0: one was free). */
  'limit:waited': { ms: number; cost: number };
  /** A thread or process worker of the executor pool died; a replacement is starting. */
  'executor:replaced': { kind: 'thread' | 'process'; reason: string };
  'task:log': { seq: number; level: 'info' | 'warn'; message: string };
  /** The database went away mid-run; the run waits up to `reconnectForMs` for it to come back. */
  'store:lost': { reason: string; reconnectForMs: number };
  /** The database answers again; the run resumes, its interrupted tasks redone. */
  'store:back': { afterMs: number };
  /** An adaptive cap moved: raised after clean results, halved on throttling or rising latency. */
  'limit:cap': { cap: number; reason: 'start' | 'clean' | 'throttled' | 'timeout' | 'latency' };
}

type Listener<K extends keyof SluiceEvents> = (event: SluiceEvents[K]) => void;

/** A typed event bus. A listener that throws is reported once and cannot break a worker. */
export class Events {
  private listeners = new Map<keyof SluiceEvents, Set<Listener<never>>>();

  on<K extends keyof SluiceEvents>(name: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends keyof SluiceEvents>(name: K, event: SluiceEvents[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        (listener as Listener<K>)(event);
      } catch (error) {
        process.emitWarning(`sluice: a listener for ${name} threw: ${(error as Error).message}`);
      }
    }
  }
}
