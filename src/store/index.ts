import type { Sql } from 'postgres';
import type { Outcome } from '../job/outcome.ts';
import type { PlannedTask } from '../job/types.ts';
import { type ClaimedTask, claimTasks, finishChunksAndClaim, nextRunnableAt } from './claim.ts';
import { checkOwnSessions, checkReachable, openPool } from './connect.ts';
import { type DashboardQueries, dashboardQueries } from './dashboard/index.ts';
import {
  countDeadLetters,
  type DeadLetter,
  findDeadLetter,
  listDeadLetters,
  purgeDeadLetters,
  requeueDeadLetters,
} from './deadLetters.ts';
import { appendBatch, closeFeed, readFeed, tryFeedLock } from './feed.ts';
import { finishJobOnce, type ReportReader } from './finishOnce.ts';
import {
  alertCounts,
  changeJobStatus,
  type JobState,
  listenJobs,
  readJobState,
  type StatusChange,
  tripAlert,
} from './jobControl.ts';
import {
  findJob,
  findOrCreateJob,
  finishJob,
  type JobRow,
  listJobs,
  type NewJob,
  requeueFailed,
  setJobModule,
  updateJobLimits,
} from './jobs.ts';
import { type Liveness, reclaimOrphans, registerProcess, renewLeases } from './liveness.ts';
import { hasSchema, migrate } from './migrate.ts';
import {
  type Claim,
  completeTask,
  failTask,
  markWaiting,
  releaseTask,
  saveCheckpoint,
} from './outcome.ts';
import { recordChunk, requeueFailedItems, type SucceededChunk } from './outcomes.ts';
import {
  countJobs,
  countTasks,
  hasOpenTasks,
  type JobCounts,
  listFailed,
  readReports,
} from './progress.ts';
import { findPrunable, findUnended, pruneJobs } from './prune.ts';
import { againIfDisconnected } from './reconnect.ts';
import {
  type ChildResult,
  claimGraphTasks,
  completeFanOut,
  completeStage,
  type GraphTask,
  readChildren,
  readGraphReports,
} from './taskGraph.ts';
import {
  inTaskTransaction,
  sharesDatabase,
  type TaskWrites,
  underSavepoint,
} from './taskTransaction.ts';

export type {
  ChildResult,
  Claim,
  ClaimedTask,
  DeadLetter,
  GraphTask,
  JobCounts,
  JobRow,
  JobState,
  ReportReader,
  StatusChange,
  TaskWrites,
};
// Transactional tasks run their writes and completion on the worker's own connection.
export { inTaskTransaction, underSavepoint };

/**
 * The job state store, behind the operations the runner needs. Everything below it is SQL on
 * schema `sluice`; nothing above it knows any.
 */
export class Store {
  private liveness?: Liveness;
  /** The registration under way, shared by every join() made meanwhile. */
  private joining?: Promise<Liveness>;

  /**
   * @param fresh The database has no schema `sluice` (opened with `create: false`): it holds no
   *   jobs, and nothing may be read or written through this store.
   */
  private constructor(
    readonly sql: Sql,
    /** Where lock sessions connect: each is a connection of its own (liveness.ts). */
    private readonly url: string,
    readonly fresh = false,
  ) {}

  /**
   * Connects to the state database and brings its schema up to date, creating it unless
   * `create` is false (readers such as `sluice status` leave a database they never ran on as is).
   * `concurrency` is how many tasks this process runs at once (default 1): the pool follows it.
   */
  static async open(
    url: string,
    options: { waitMs?: number; create?: boolean; concurrency?: number } = {},
  ): Promise<Store> {
    // With its lock session (which LISTENs too), a process holds 3 connections to the state
    // database up to a local concurrency of 4, 4 above (docs/operations.md, Connections). Two
    // for queries, so progress reads and claims do not queue behind a transaction; two cost 6% of
    // tasks/s at --concurrency 4 and 25% at 16 (5 ms tasks, one process, against 3).
    const max = (options.concurrency ?? 1) > 4 ? 3 : 2;
    const sql = openPool(url, { max, purpose: 'state' });
    let fresh = false;
    try {
      await checkReachable(sql, url, options.waitMs);
      await checkOwnSessions(sql, url);
      fresh = options.create === false && !(await hasSchema(sql));
      if (!fresh) await migrate(sql);
    } catch (error) {
      await sql.end({ timeout: 1 });
      throw error;
    }
    return new Store(sql, url, fresh);
  }

  /**
   * Registers this process as a worker; its tasks are reclaimed within a second if it dies. Calls
   * made while it registers share that registration (a run starts it beside planning, and two runs
   * on one store may start at once); one that failed is tried again by the next call.
   */
  async join(): Promise<number> {
    if (!this.liveness) {
      this.joining ??= registerProcess(this.url).finally(() => {
        this.joining = undefined;
      });
      this.liveness = await this.joining;
    }
    return this.liveness.processId;
  }

  /**
   * Makes sure this process is still known to be alive, taking a new process id if its lock
   * session died (a partition, a server restart). Returns false when it had to: whatever this
   * process was running under the old id is now another worker's to reclaim.
   */
  async checkLiveness(): Promise<boolean> {
    if (!this.liveness) return true;
    if (await this.liveness.holdsLock().catch(() => false)) return true;
    const lost = this.liveness;
    this.liveness = await registerProcess(this.url, lost);
    await lost.release();
    return false;
  }

  private get processId(): number {
    if (!this.liveness) throw new Error('Store.join() must be called before claiming');
    return this.liveness.processId;
  }

  private dashboardReads?: DashboardQueries;
  /** What the dashboard reads: the jobs list and a job's page (src/store/dashboard/). */
  get dashboard(): DashboardQueries {
    this.dashboardReads ??= dashboardQueries(this.sql);
    return this.dashboardReads;
  }

  findJob = (name: string) => findJob(this.sql, name);
  listJobs = () => listJobs(this.sql);
  findOrCreateJob = (job: NewJob, plan: () => AsyncIterable<PlannedTask>, replace = false) =>
    findOrCreateJob(this.sql, job, plan, replace);
  updateJobLimits = (jobId: string, cap: number, attempts: number) =>
    updateJobLimits(this.sql, jobId, cap, attempts);
  finishJob = (jobId: string, result: unknown) => finishJob(this.sql, jobId, result);
  finishJobOnce = (jobId: string, reduce: (reader: ReportReader) => Promise<unknown>) =>
    finishJobOnce(this.sql, jobId, reduce);
  requeueFailed = (jobId: string) => requeueFailed(this.sql, jobId);
  setJobModule = (name: string, module: string) => setJobModule(this.sql, name, module);

  claim = (jobId: string, limit: number, held?: number) =>
    claimTasks(this.sql, jobId, this.processId, limit, held);
  finishChunksAndClaim = (
    jobId: string,
    chunks: readonly SucceededChunk[],
    limit: number,
    held?: number,
  ) => finishChunksAndClaim(this.sql, jobId, this.processId, chunks, limit, held);
  nextRunnableAt = (jobId: string) => nextRunnableAt(this.sql, jobId);
  // Writes fenced by the claim's epoch survive one dead pooled connection (see reconnect.ts).
  complete = (claim: Claim, report: unknown) =>
    againIfDisconnected(() => completeTask(this.sql, claim, report));
  fail = (claim: Claim, error: Error, retryInMs: number | undefined) =>
    againIfDisconnected(() => failTask(this.sql, claim, error, retryInMs));
  release = (claim: Claim) => againIfDisconnected(() => releaseTask(this.sql, claim));
  markWaiting = (claim: Claim, waiting: boolean) => markWaiting(this.sql, claim, waiting);
  checkpoint = (claim: Claim, cursor: unknown) =>
    againIfDisconnected(() => saveCheckpoint(this.sql, claim, cursor));
  recordChunk = (
    claim: Claim,
    attempt: number,
    outcomes: readonly Outcome[],
    failure?: Error,
    keys?: readonly string[],
  ) => againIfDisconnected(() => recordChunk(this.sql, claim, attempt, outcomes, failure, keys));
  requeueFailedItems = (jobId: string) => requeueFailedItems(this.sql, jobId);
  reclaimOrphans = (jobId: string) => reclaimOrphans(this.sql, jobId);
  renewLeases = (jobId: string) => renewLeases(this.sql, this.processId, jobId);

  // Task graphs: tasks appended while the job runs (fan-out, pipeline stages, micro-batches).
  claimGraph = (jobId: string, limit: number, held?: number) =>
    claimGraphTasks(this.sql, jobId, this.processId, limit, held);
  // Fenced by the claim's epoch like `complete`, so as safe to send again after a lost connection.
  completeStage = (claim: Claim, next: Parameters<typeof completeStage>[2]) =>
    againIfDisconnected(() => completeStage(this.sql, claim, next));
  completeFanOut = (claim: Claim, children: Parameters<typeof completeFanOut>[2]) =>
    againIfDisconnected(() => completeFanOut(this.sql, claim, children));
  children = (jobId: string, parentSeq: number) => readChildren(this.sql, jobId, parentSeq);
  graphReports = (jobId: string, lastStage: { name: string | null } | undefined) =>
    readGraphReports(this.sql, jobId, lastStage);
  readFeed = (jobId: string) => readFeed(this.sql, jobId);
  appendBatch = (jobId: string, items: readonly unknown[], position: string | undefined) =>
    appendBatch(this.sql, jobId, items, position);
  closeFeed = (jobId: string) => closeFeed(this.sql, jobId);
  tryFeedLock = (jobId: string) => tryFeedLock(this.url, jobId);

  /** True when `other` reaches this store's own database, as a transactional job needs. */
  sharesDatabase = (other: Sql) => sharesDatabase(this.sql, other);

  counts = (jobId: string) => countTasks(this.sql, jobId);
  /** `counts` of several jobs in one query (the dashboard, /metrics); every id has an entry. */
  countsOf = (jobIds: readonly string[]) => countJobs(this.sql, jobIds);
  hasOpenTasks = (jobId: string) => hasOpenTasks(this.sql, jobId);
  reports = (jobId: string) => readReports(this.sql, jobId);
  failed = (jobId: string, limit: number) => listFailed(this.sql, jobId, limit);

  deadLetters = (jobId: string, limit: number) => listDeadLetters(this.sql, jobId, limit);
  deadLetter = (jobId: string, key: string) => findDeadLetter(this.sql, jobId, key);
  deadLetterCounts = (jobIds: readonly string[]) => countDeadLetters(this.sql, jobIds);
  purgeDeadLetters = (jobId: string, key?: string) => purgeDeadLetters(this.sql, jobId, key);
  requeueDeadLetters = (jobId: string) => requeueDeadLetters(this.sql, jobId);

  // Retention: ended jobs older than a cutoff, deleted with everything they hold.
  prunable = (olderThanS: number, names?: readonly string[]) =>
    findPrunable(this.sql, olderThanS, names);
  unended = (names: readonly string[]) => findUnended(this.sql, names);
  prune = (jobIds: readonly string[], olderThanS: number) =>
    pruneJobs(this.sql, jobIds, olderThanS);

  changeJobStatus = (jobId: string, change: StatusChange) =>
    changeJobStatus(this.sql, jobId, change);
  jobState = (jobId: string) => readJobState(this.sql, jobId);
  alertCounts = (jobId: string) => alertCounts(this.sql, jobId);
  tripAlert = (jobId: string, action: 'warn' | 'pause' | 'abort', reason: string) =>
    tripAlert(this.sql, jobId, action, reason);
  /** Status changes of any job, announced by any process; returns a function that stops listening. */
  listenJobs = (onChange: (jobId: string, status: JobState['status'] | undefined) => void) =>
    listenJobs(this.liveness ?? this.sql, onChange);

  async close(): Promise<void> {
    // A registration still under way ends with the store: its lock session would outlive it.
    if (this.joining) this.liveness ??= await this.joining.catch(() => undefined);
    await this.liveness?.release();
    await this.sql.end({ timeout: 5 });
  }
}
