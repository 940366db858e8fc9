import { isTaskGraph } from '../job/taskGraph.ts';
import type { Job, TaskContext } from '../job/types.ts';
import type { Claim, ClaimedTask, GraphTask, Store } from '../store/index.ts';
import { fanOutStep } from './fanOut.ts';
import { lastStage, stageStep } from './pipeline.ts';
import { reduceReports } from './reduce.ts';

/**
 * What one task of a pipeline or fan-out does: `run` calls the user's function for the task's
 * place in the graph, and `complete` records its result together with the tasks it creates.
 */
export interface GraphStep {
  run(ctx: TaskContext): Promise<unknown>;
  /** False when the claim was stale and nothing was written. */
  complete(value: unknown): Promise<boolean>;
}

export interface GraphRunner {
  job: Job;
  jobId: string;
  store: Store;
}

/** The step for a claimed task of a task-graph job; undefined for any other job. */
export function graphStep(r: GraphRunner, task: ClaimedTask, claim: Claim): GraphStep | undefined {
  if (!isTaskGraph(r.job)) return undefined;
  const graphTask = task as GraphTask;
  return r.job.stages ? stageStep(r, graphTask, claim) : fanOutStep(r, graphTask, claim);
}

/** A top-level task's input, from its stored payload: read on the worker's connection if the source loads it. */
export function sourceInput(job: Job, payload: unknown, ctx: TaskContext): unknown {
  return job.source.load ? job.source.load(payload, { sql: ctx.sql }) : job.source.input(payload);
}

/** Claims for a job: deepest first for task graphs (see migration 0008), plan order otherwise. */
export function claimFor(job: Job, store: Store, jobId: string, limit: number) {
  return isTaskGraph(job) ? store.claimGraph(jobId, limit) : store.claim(jobId, limit);
}

/**
 * Folds a job's stored reports in plan order: for a pipeline those of its last stage, for a
 * fan-out those of its parents (each its fan-in's report), for any other job every task's.
 */
export async function reduceFor(job: Job, store: Store, jobId: string): Promise<unknown> {
  if (!isTaskGraph(job)) return reduceReports(job, store, jobId);
  let acc = job.initial();
  if (!job.reduce) return acc;
  const last = job.stages ? lastStage(job.stages) : undefined;
  for await (const { seq, report } of store.graphReports(jobId, last)) {
    acc = job.reduce(acc, report, seq);
  }
  return acc;
}
