import {
  InputError,
  PermanentError,
  RateLimitedError,
  SluiceError,
  toError,
} from '../../errors.ts';
import type { TaskSignal } from '../../limit/adaptive.ts';
import type { PacingOptions, RateLimitOptions } from '../../limit/types.ts';
import type { GraphPlace } from '../taskGraph.ts';

/** What a worker needs to load the job and reach the source database. */
/** What tells one job module from another: its name, its plan's fingerprint, its file's text. */
export interface LoadedJobIdentity {
  name: string;
  fingerprint: string;
  moduleDigest?: string;
}

export interface InitMessage {
  type: 'init';
  modulePath: string;
  /** The job the coordinator loaded from that path; a worker that finds another refuses to run. */
  expected: LoadedJobIdentity;
  sourceUrl: string;
  /** Tasks this worker runs at once, each on its own source connection. */
  slots: number;
  /**
   * The limits as the coordinator has them, after any command-line override (cost stays the
   * module's). With a rate limit the coordinator has a rate limiter, and items take permits.
   */
  rateLimit?: Omit<RateLimitOptions, 'cost'>;
  pacing?: PacingOptions;
  /** Whether the coordinator runs an adaptive cap that wants per-item results. */
  hasAdaptive: boolean;
}

export interface TaskMessage {
  type: 'task';
  taskId: number;
  payload: unknown;
  attempt: number;
  index: number;
  resumeFrom: unknown;
  /** The cap the run works under, which can differ from the module's (`--max-parallelism`). */
  maxParallelism: number;
  /** A pipeline or fan-out task's place in its graph. */
  graph?: GraphPlace;
  /** Until when items wait after a 429 seen by a sibling worker (ms since the epoch; 0: none). */
  pausedUntil: number;
}

/** Coordinator to worker. `stop` is the poison pill: finish the current tasks, then exit. */
export type ToWorker =
  | InitMessage
  | TaskMessage
  | { type: 'reply'; requestId: number; value?: unknown; error?: WireError }
  | { type: 'abort'; taskId: number }
  /** The job was paused: the task starts no more items (its chunk goes back to the queue). */
  | { type: 'halt'; taskId: number }
  /** A 429 in some worker: items here wait too, without asking the coordinator item by item. */
  | { type: 'pause'; untilMs: number }
  | { type: 'stop' };

/** A request a task makes of the coordinator, which performs it (fenced) and replies. */
export type HostRequest =
  | { call: 'checkpoint'; cursor: unknown }
  | { call: 'acquire'; cost: number };

/** Worker to coordinator. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'fatal'; error: WireError }
  | { type: 'result'; taskId: number; value: unknown }
  /** `input` is sent when the worker loaded it itself, so the coordinator can fail each item. */
  | { type: 'error'; taskId: number; error: WireError; input?: unknown }
  | { type: 'log'; taskId: number; level: 'info' | 'warn'; message: string }
  /** The items `each` has finished so far in this task, sent now and then while it runs. */
  | { type: 'items'; taskId: number; done: number; failed: number }
  | ({ type: 'request'; taskId: number; requestId: number } & HostRequest)
  | { type: 'settle'; taskId: number; permitId: number; actual: number }
  | { type: 'pause'; taskId: number; untilMs: number }
  | ({ type: 'adaptive'; taskId: number } & TaskSignal);

/** An error as it crosses a thread or process boundary. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  status?: number;
  code?: string;
  retryAfterMs?: number;
}

export function toWire(thrown: unknown): WireError {
  const error = toError(thrown);
  const extra = error as { status?: unknown; code?: unknown; retryAfterMs?: unknown };
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    status: typeof extra.status === 'number' ? extra.status : undefined,
    code: typeof extra.code === 'string' ? extra.code : undefined,
    retryAfterMs: typeof extra.retryAfterMs === 'number' ? extra.retryAfterMs : undefined,
  };
}

/** Rebuilds the error, keeping the classes the retry policy tells apart. */
export function fromWire(wire: WireError): Error {
  let error: Error;
  if (wire.name === 'RateLimitedError' && wire.retryAfterMs !== undefined) {
    error = new RateLimitedError(wire.retryAfterMs, wire.status, wire.message);
  } else if (wire.name === 'PermanentError') error = new PermanentError(wire.message);
  else if (wire.name === 'InputError') error = new InputError(wire.message);
  else if (wire.name === 'SluiceError') error = new SluiceError(wire.message);
  else {
    error = new Error(wire.message);
    error.name = wire.name;
  }
  if (wire.stack) error.stack = wire.stack;
  if (wire.status !== undefined) Object.assign(error, { status: wire.status });
  if (wire.code !== undefined) Object.assign(error, { code: wire.code });
  return error;
}
