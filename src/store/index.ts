import type { Sql } from 'postgres';
import type { Outcome } from '../job/outcome.ts';
import type { PlannedTask } from '../job/types.ts';
import { type ClaimedTask, claimTasks, nextRunnableAt } from './claim.ts';
import { checkReachable, openPool } from './connect.ts';
import {
  findJob,
  findOrCreateJob,
  finishJob,
  type JobRow,
  listJobs,
  type NewJob,
  requeueFailed,
  updateJobLimits,
} from './jobs.ts';
import { type Liveness, reclaimOrphans, registerProcess, renewLeases } from './liveness.ts';
import { migrate } from './migrate.ts';
import { type Claim, completeTask, failTask, releaseTask, saveCheckpoint } from './outcome.ts';
import { recordChunk, requeueFailedItems } from './outcomes.ts';
import { countTasks, hasOpenTasks, type JobCounts, listFailed, readReports } from './progress.ts';

export type { Claim, ClaimedTask, JobCounts, JobRow };

/**
 * The job state store, behind the operations the runner needs. Everything below it is SQL on
 * schema `sluice`; nothing above it knows any.
 */
export class Store {
  private liveness?: Liveness;

  private constructor(readonly sql: Sql) {}

  /** Connects to the state database and brings its schema up to date. */
  static async open(url: string, options: { waitMs?: number } = {}): Promise<Store> {
    const sql = openPool(url, { max: 4, purpose: 'state' });
    try {
      await checkReachable(sql, url, options.waitMs);
      await migrate(sql);
    } catch (error) {
      await sql.end({ timeout: 1 });
      throw error;
    }
    return new Store(sql);
  }

  /** Registers this process as a worker; its tasks are reclaimed within a second if it dies. */
  async join(): Promise<number> {
    this.liveness ??= await registerProcess(this.sql);
    return this.liveness.processId;
  }

  private get processId(): number {
    if (!this.liveness) throw new Error('Store.join() must be called before claiming');
    return this.liveness.processId;
  }

  findJob = (name: string) => findJob(this.sql, name);
  listJobs = () => listJobs(this.sql);
  findOrCreateJob = (job: NewJob, plan: () => AsyncIterable<PlannedTask>, replace = false) =>
    findOrCreateJob(this.sql, job, plan, replace);
  updateJobLimits = (jobId: string, cap: number, attempts: number) =>
    updateJobLimits(this.sql, jobId, cap, attempts);
  finishJob = (jobId: string, result: unknown) => finishJob(this.sql, jobId, result);
  requeueFailed = (jobId: string) => requeueFailed(this.sql, jobId);

  claim = (jobId: string, limit: number) => claimTasks(this.sql, jobId, this.processId, limit);
  nextRunnableAt = (jobId: string) => nextRunnableAt(this.sql, jobId);
  complete = (claim: Claim, report: unknown) => completeTask(this.sql, claim, report);
  fail = (claim: Claim, error: Error, retryAt: Date | undefined) =>
    failTask(this.sql, claim, error, retryAt);
  release = (claim: Claim) => releaseTask(this.sql, claim);
  checkpoint = (claim: Claim, cursor: unknown) => saveCheckpoint(this.sql, claim, cursor);
  recordChunk = (claim: Claim, attempt: number, outcomes: readonly Outcome[], failure?: Error) =>
    recordChunk(this.sql, claim, attempt, outcomes, failure);
  requeueFailedItems = (jobId: string) => requeueFailedItems(this.sql, jobId);
  reclaimOrphans = (jobId: string) => reclaimOrphans(this.sql, jobId);
  renewLeases = () => renewLeases(this.sql, this.processId);

  counts = (jobId: string) => countTasks(this.sql, jobId);
  hasOpenTasks = (jobId: string) => hasOpenTasks(this.sql, jobId);
  reports = (jobId: string) => readReports(this.sql, jobId);
  failed = (jobId: string, limit: number) => listFailed(this.sql, jobId, limit);

  async close(): Promise<void> {
    await this.liveness?.release();
    await this.sql.end({ timeout: 5 });
  }
}
