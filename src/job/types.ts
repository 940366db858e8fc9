import type { Sql } from 'postgres';
import type { PacingOptions, RateLimitOptions } from '../limit/types.ts';
import type { AlertMetrics, AlertOptions } from '../observe/alert.ts';
import type { ChildResult, FanOutChild, Pipeline, Stage } from './taskGraph.ts';

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
  /**
   * Rebuilds the task input by reading it, on the worker's own connection (a cursor chunk's rows
   * from its stored bounds). When present it is used instead of `input`.
   */
  load?(payload: unknown, ctx: { sql: Sql }): Promise<Input>;
  /** What one item is called in progress output: `rows`, `items`. */
  readonly unit: string;
  /** What one task is called in progress output: `ranges`, `chunks`. */
  readonly taskNoun: string;
  /** True when `run` returns one outcome per item, recorded item by item (chunks of items). */
  readonly outcomes?: boolean;
  /**
   * A stream that appends tasks while the job runs (`microBatch`); the plan is then empty. Called
   * with the position stored with the last appended batch (undefined at first).
   */
  feed?(after: string | undefined, signal: AbortSignal): AsyncIterable<FeedBatch>;
}

/** One batch of a stream, appended as one task; `position` is where the stream resumes after it. */
export interface FeedBatch {
  items: unknown[];
  position?: string;
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

/** MapReduce: the partial type of a map's report, `Map<Key, Partial>` or `Record<string, Partial>`. */
export type PartialOf<Report> =
  Report extends ReadonlyMap<unknown, infer P>
    ? P
    : Report extends Record<string, infer P>
      ? P
      : never;
/** MapReduce: the key type of a map's report. */
export type KeyOf<Report> = Report extends ReadonlyMap<infer K, unknown> ? K : string;

/** Retry policy for an item (with `each`) or a whole task that throws. */
export interface RetryOptions {
  /** Total tries, the first included. Default 3. */
  attempts?: number;
  /** `exponential` doubles the delay after each failure; `fixed` always waits `baseMs`. Default `exponential`. */
  backoff?: 'exponential' | 'fixed';
  /** Delay before the first retry. Default 1000 ms. */
  baseMs?: number;
  /** Longest delay between tries. Default 30000 ms. */
  maxMs?: number;
  /** `equal`: half the delay is random; `full`: all of it; `none`: exact delays. Default `equal`. */
  jitter?: 'equal' | 'full' | 'none';
  /**
   * Says whether an error can succeed on a retry; false records the failure (a dead letter) after
   * one try. `item` is the item (with `each`), or the task's input for a whole task. Not asked for
   * PermanentError (never retried) or RateLimitedError (always retried). Default: retry.
   */
  retryIf?(error: Error, item: unknown): boolean;
}

/** A validated retry policy: every option but `retryIf` filled in. */
export type RetryPolicy = Required<Omit<RetryOptions, 'retryIf'>> & Pick<RetryOptions, 'retryIf'>;

/**
 * Where a job's tasks run. `async` (default): async loops in this process, for work bound by the
 * database or network. `sequential`: one task at a time in this process. `thread`: a pool of
 * worker threads, for CPU-bound work. `process`: a pool of child processes; `parallelism: 0`
 * runs every task in a fresh process.
 */
export interface ExecutorOptions {
  mode: 'sequential' | 'async' | 'thread' | 'process';
  /** Size of the local pool. Default: the cap for `async`, 1 for `sequential`, the CPU count for `thread` and `process`. */
  parallelism?: number;
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
  /** A multi-stage pipeline, `pipeline([stage('extract', fn), ...])`, instead of `run`. */
  stages?: Pipeline<Report> | readonly Stage[];
  /** A parent's first phase, instead of `run`: the child tasks it emits, run by `handlers`. */
  fanOut?(
    input: Input,
    ctx: TaskContext<Resource>,
  ): readonly FanOutChild[] | Promise<readonly FanOutChild[]>;
  /** Runs the children, by kind. */
  // biome-ignore lint/suspicious/noExplicitAny: each kind's input is the user's.
  handlers?: Record<string, (input: any, ctx: TaskContext<Resource>) => unknown>;
  /** Runs once per parent when all its children are finished; returns the parent's report. */
  fanIn?(
    input: Input,
    children: ChildResult[],
    ctx: TaskContext<Resource>,
  ): Promise<Report> | Report;
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
  /**
   * Names an item in the dead-letter table, where a key holds one row per job. Default: a string
   * or number item is its own key, an object with an `id` uses that, anything else its JSON text.
   */
  itemKey?(item: ItemOf<Input>): string;
  /** Failure-rate alert, e.g. `{ failureRate: 0.05, minItems: 100, action: 'pause' }`. */
  alert?: AlertOptions;
  /** Called once each time the alert trips, in the process that tripped it. */
  onAlert?(metrics: AlertMetrics): Promise<void> | void;
  /** Longest an attempt of one task may run, in ms; then its signal fires and the attempt fails (and is retried). */
  timeout?: number;
  /** When a run must end: ms after it starts, or a Date. Then claiming stops, running tasks are aborted and the job fails. */
  deadline?: number | Date;
  /** Where tasks run: in this process (`async`, the default, or `sequential`), in worker threads or in child processes. */
  executor?: ExecutorOptions;
  /**
   * Exactly-once writes for a job that writes where its state lives (the source database, when no
   * separate state database is given). `ctx.sql` then runs inside one transaction per attempt, and
   * the task's completion, fenced by its claim, commits in that same transaction: a crash leaves
   * both the writes and the completion or neither, and a reclaimed task's stale attempt rolls back.
   * With `each`, every item runs under a savepoint, and its outcome commits with the chunk. Not
   * with `thread` or `process` executors, `stages` or `fanOut`, nor a separate state database.
   * Row locks are held until the task ends: keep such tasks short. Default false.
   */
  transactional?: boolean;
  /** V8 heap limit of each thread or process worker, in MB; a task above it fails as out of memory. */
  funcRamMb?: number;
  /** Tasks one process worker runs at once (mode `process` only). Default 1. */
  funcCpu?: number;
  /** Runs once on the coordinator before planning, for example to create demo data. */
  prepare?(ctx: PlanContext): Promise<void> | void;
  /** The starting value of the reduction. */
  initial?: () => Result;
  /** Folds one task's report into the result, in plan order. */
  reduce?: (acc: Result, report: Report, index: number) => Result;
  /**
   * MapReduce: `run` returns keyed partials (a `Map`, or a plain object) and `combine` merges two
   * partials of one key. The result is a record of key → combined partial with sorted keys, folded
   * in plan order, so it is the same whatever order tasks finished in. Not with `each`, `reduce`
   * or `initial`. Partials are stored as JSON: `combine` receives them as JSON gives them back.
   */
  combine?: (a: PartialOf<Report>, b: PartialOf<Report>, key: KeyOf<Report>) => PartialOf<Report>;
}

/** A validated job with every default filled in. */
export interface Job<Input = unknown, Report = unknown, Result = unknown, Resource = unknown> {
  readonly kind: 'sluice.job';
  readonly name: string;
  readonly source: Source<Input>;
  /** Absent when the job gives `each` instead. */
  readonly run?: (input: Input, ctx: TaskContext<Resource>) => Promise<Report> | Report;
  readonly each?: (item: ItemOf<Input>, ctx: TaskContext<Resource>) => Promise<unknown> | unknown;
  readonly stages?: readonly Stage[];
  readonly fanOut?: (
    input: Input,
    ctx: TaskContext<Resource>,
  ) => readonly FanOutChild[] | Promise<readonly FanOutChild[]>;
  readonly handlers?: Record<string, (input: unknown, ctx: TaskContext<Resource>) => unknown>;
  readonly fanIn?: (
    input: Input,
    children: ChildResult[],
    ctx: TaskContext<Resource>,
  ) => Promise<Report> | Report;
  readonly rateLimit?: RateLimitOptions;
  readonly pacing?: PacingOptions;
  readonly setup?: (ctx: WorkerContext) => Promise<Resource> | Resource;
  readonly teardown?: (resource: Resource, ctx: WorkerContext) => Promise<void> | void;
  /** The hard cap across all processes (the `max` of an adaptive cap). */
  readonly maxParallelism: number;
  /** Where an adaptive cap starts; absent for a fixed cap. */
  readonly adaptiveStart?: number;
  readonly retry: RetryPolicy;
  /** The dead-letter key of an item; always a string of at most 512 characters. */
  readonly itemKey: (item: unknown) => string;
  readonly alert?: Required<AlertOptions>;
  readonly onAlert?: (metrics: AlertMetrics) => Promise<void> | void;
  readonly timeout?: number;
  readonly deadline?: number | Date;
  readonly executor: ExecutorOptions;
  /** `ctx.sql` and the task's completion commit in one transaction (see JobOptions). */
  readonly transactional: boolean;
  readonly funcRamMb?: number;
  readonly funcCpu: number;
  /** The file the job was loaded from; thread and process workers import it again. */
  readonly modulePath?: string;
  /** A digest of that file's text, so a worker can tell it loaded the same job. */
  readonly moduleDigest?: string;
  readonly prepare?: (ctx: PlanContext) => Promise<void> | void;
  readonly initial: () => Result;
  readonly reduce?: (acc: Result, report: Report, index: number) => Result;
  /** MapReduce: merges two partials of one key; with it, `run` returns keyed partials. */
  readonly combine?: (a: never, b: never, key: never) => unknown;
}
