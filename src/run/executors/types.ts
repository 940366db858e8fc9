import type { TaskContext } from '../../job/types.ts';
import type { JobLimits } from '../jobLimits.ts';
import type { GraphPlace } from '../taskGraph.ts';

/** A task's context as the coordinator holds it: all but the worker's own connection and resource. */
export type HostContext = Omit<TaskContext, 'sql' | 'resource'>;

/** One claimed task, handed to an executor to run the job's function on. */
export interface TaskCall {
  payload: unknown;
  /** The task's input; a source that reads it (`source.load`) sets it here once read. */
  input: unknown;
  ctx: HostContext;
  limits: JobLimits;
  /** The cap the run works under: at 1, `each` checkpoints after every item. */
  maxParallelism: number;
  /** A pipeline or fan-out task's place, still being read: the worker runs that function instead of `run`. */
  graph?: Promise<GraphPlace>;
  /** Told as the worker's `each` finishes items: the attempt's counts so far (progress). */
  onItems?(done: number, failed: number): void;
  /** Fires when the job is paused: the worker starts no more items of this chunk. */
  stop?: AbortSignal;
}

/** Room on a worker, held from `reserve` until the task run on it ends. */
export interface Reservation {
  readonly id: number;
}

/**
 * Runs the user's function for claimed tasks in worker threads or child processes (`async` and
 * `sequential` need none: they run in this process). The coordinating process keeps every store
 * operation (claim, complete, fail, checkpoint) and the limits; an executor only runs the code.
 */
export interface Executor {
  /**
   * Tasks the coordinator may claim beyond the `concurrency` it runs at once, so that a worker
   * finishing a task finds its next one waiting instead of idling through a complete and a claim.
   * They count as running against `maxParallelism`, so the store grants them only while the cap
   * has room. None when `concurrency` is below the workers' room: it would let more run at once.
   */
  aheadOf(concurrency: number): number;
  /** Starts the workers up front; a job module that cannot load in them is an InputError. */
  start(): Promise<void>;
  /**
   * Waits for room on a worker and holds it for one `run`; undefined when one of `signals` fires
   * first (the task never started). A task claimed ahead waits here.
   */
  reserve(signals: AbortSignal[]): Promise<Reservation | undefined>;
  /** Runs the job's `run`, or `each` over the chunk, for one task: its report or outcomes. */
  run(call: TaskCall, room: Reservation): Promise<unknown>;
  /** The poison pill: each worker finishes its current task and exits; one that does not is killed. */
  close(): Promise<void>;
}
