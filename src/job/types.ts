import type { Sql } from 'postgres';
import type { PacingOptions, RateLimitOptions } from '../limit/types.ts';

/** A logger handed to job code; lines are prefixed with the job and task. */
export interface TaskLog {
  info(message: string): void;
  warn(message: string): void;
}

/** One unit of planned work, as stored: `payload` is whatever the source needs to run it. */
export interface PlannedTask {
  /** What the task covers, JSON-serialisable (bigints travel as strings). */
  payload: unknown;
  /** Items the task covers (rows for a table range), when the planner knows. */
  items: number;
}

/** What a source plans against: the source database, reached through its own connection. */
export interface PlanContext {
  sql: Sql;
}

/**
 * Where the work comes from. A source plans tasks into the store and turns a stored payload
 * back into the value the job's `run` receives.
 */
export interface Source<Input> {
  /** Names the source in errors and status output, for example `tableRanges(orders.id)`. */
  readonly describe: string;
  /** A stable digest of the options that shape the plan; resuming with other options is refused. */
  readonly fingerprint: string;
  /** Checks the source and yields its tasks in order. Throws InputError before yielding when the source cannot work. */
  plan(ctx: PlanContext): AsyncIterable<PlannedTask>;
  /** Rebuilds the task input from its stored payload. */
  input(payload: unknown): Input;
  /** What one item is called in progress output: `rows`, `items`. */
  readonly unit: string;
  /** What one task is called in progress output: `ranges`, `chunks`. */
  readonly taskNoun: string;
  /** True when `run` returns one outcome per item, recorded item by item (chunks of items). */
  readonly outcomes?: boolean;
}

/** What a worker's `setup` receives: its own source connection and the run's abort signal. */
export interface WorkerContext {
  sql: Sql;
  signal: AbortSignal;
}

/** Everything a task's function can use. */
export interface TaskContext<Resource = unknown> {
  /** What the job's `setup` returned for this worker (an HTTP client, say), reused across its tasks. */
  resource: Resource;
  /** postgres.js bound to this worker's own connection to the source database, reused across its tasks. */
  sql: Sql;
  /** Fires when the run is aborted (a second Ctrl-C, or shutdown). */
  signal: AbortSignal;
  /** 1 on the first try, 2 on the first retry, and so on. */
  attempt: number;
  /** The task's position in the plan, from 0. */
  index: number;
  log: TaskLog;
  /** Where a previous attempt checkpointed, or undefined when the task starts from the beginning. */
  resumeFrom: unknown;
  /** Saves progress inside a long task durably, so a retry or resume continues after it. */
  checkpoint(cursor: unknown): Promise<void>;
  /**
   * The job's rate limit: `acquire(cost?)` waits for a permit before a request, `settle(actual)`
   * corrects the latest one's estimate once the real cost (tokens used, say) is known.
   */
  limit: { acquire(cost?: number): Promise<void>; settle(actualCost: number): void };
}

/** Item type of a chunk source. */
export type ItemOf<Input> = Input extends readonly (infer Item)[] ? Item : never;

/** Retry policy for a task that throws. */
export interface RetryOptions {
  /** Total tries, the first included. Default 3. */
  attempts?: number;
  /** Delay before the first retry; it doubles each time. Default 1000 ms. */
  baseMs?: number;
  /** Longest delay between tries. Default 30000 ms. */
  maxMs?: number;
}

/** A job, as written by the user in a module whose default export is `defineJob({...})`. */
export interface JobOptions<Input, Report, Result, Resource = undefined> {
  /** Identifies the job in the store: running the same name again resumes it. */
  name: string;
  source: Source<Input>;
  /**
   * Processes one task. A table range returns a small report; a chunk of items returns one
   * outcome per item (`succeeded(item, value)` / `failed(item, error, status?)`).
   * Give `run` or, for chunks, `each`.
   */
  run?(input: Input, ctx: TaskContext<Resource>): Promise<Report> | Report;
  /**
   * Processes one item of a chunk; sluice loops over the chunk with pacing, the rate limit and
   * retries per item, and records one outcome per item. Throw RateLimitedError on a 429 or 503.
   */
  each?(item: ItemOf<Input>, ctx: TaskContext<Resource>): Promise<unknown> | unknown;
  /** Requests per second, or a budget per minute with a cost per item, held across every process. */
  rateLimit?: RateLimitOptions;
  /** Least time (plus random jitter) between two items of one worker. */
  pacing?: PacingOptions;
  /** Runs once per worker before its first task; what it returns is `ctx.resource` in every task. */
  setup?(ctx: WorkerContext): Promise<Resource> | Resource;
  /** Runs once per worker when the run ends, to close what `setup` opened. */
  teardown?(resource: Resource, ctx: WorkerContext): Promise<void> | void;
  /**
   * Live tasks allowed at once across every process and machine. Default 4. `{ start, max }`
   * starts at `start` and raises the cap while errors and latency stay flat, halving it on a
   * 429/503 or rising latency, never above `max`.
   */
  maxParallelism?: number | { start: number; max: number };
  retry?: RetryOptions;
  /** Runs once on the coordinator before planning, for example to create demo data. */
  prepare?(ctx: PlanContext): Promise<void> | void;
  /** The starting value of the reduction. */
  initial?: () => Result;
  /** Folds one task's report into the result, in plan order. */
  reduce?: (acc: Result, report: Report, index: number) => Result;
}

/** A validated job with every default filled in. */
export interface Job<Input = unknown, Report = unknown, Result = unknown, Resource = unknown> {
  readonly kind: 'sluice.job';
  readonly name: string;
  readonly source: Source<Input>;
  /** Absent when the job gives `each` instead. */
  readonly run?: (input: Input, ctx: TaskContext<Resource>) => Promise<Report> | Report;
  readonly each?: (item: ItemOf<Input>, ctx: TaskContext<Resource>) => Promise<unknown> | unknown;
  readonly rateLimit?: RateLimitOptions;
  readonly pacing?: PacingOptions;
  readonly setup?: (ctx: WorkerContext) => Promise<Resource> | Resource;
  readonly teardown?: (resource: Resource, ctx: WorkerContext) => Promise<void> | void;
  /** The hard cap across all processes (the `max` of an adaptive cap). */
  readonly maxParallelism: number;
  /** Where an adaptive cap starts; absent for a fixed cap. */
  readonly adaptiveStart?: number;
  readonly retry: Required<RetryOptions>;
  readonly prepare?: (ctx: PlanContext) => Promise<void> | void;
  readonly initial: () => Result;
  readonly reduce?: (acc: Result, report: Report, index: number) => Result;
}
