import type { Sql } from 'postgres';
import { isTaskGraph } from '../job/taskGraph.ts';
import type { Job, TaskContext } from '../job/types.ts';
import type { Claim, ClaimedTask, GraphTask, ReportReader, Store } from '../store/index.ts';
import type { ChildResult } from '../store/taskGraph.ts';
import { fanOutStep, runFanOutPlace } from './fanOut.ts';
import { lastStage, runStage, stageStep } from './pipeline.ts';
import { reduceReports } from './reduce.ts';

/**
 * Where a task sits in its graph, as plain data, so a thread or process worker can run it too: a
 * pipeline stage, a fan-out parent, one of its children, or its fan-in with the children's results.
 */
export type GraphPlace =
  | { kind: 'stage'; depth: number }
  | { kind: 'fanOut' }
  | { kind: 'child'; handler: string }
  | { kind: 'fanIn'; children: ChildResult[] };

/**
 * What one task of a pipeline or fan-out does: `place` says which of the user's functions runs
 * (reading a fan-in's children first), and `complete` records its result together with the tasks
 * it creates. Only the coordinator completes; the function may run in a worker.
 */
export interface GraphStep {
  place(): Promise<GraphPlace>;
  /** False when the claim was stale and nothing was written. */
  complete(value: unknown): Promise<boolean>;
}

/** Runs the job's function for a task's place in its graph, in this process or in a worker. */
export async function runGraphPlace(
  job: Job,
  place: GraphPlace,
  payload: unknown,
  ctx: TaskContext,
): Promise<unknown> {
  return place.kind === 'stage'
    ? runStage(job, place.depth, payload, ctx)
    : runFanOutPlace(job, place, payload, ctx);
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
export function sourceInput(job: Job, payload: unknown, { sql }: { sql: Sql }): unknown {
  return job.source.load ? job.source.load(payload, { sql }) : job.source.input(payload);
}

/** Claims for a job: deepest first for task graphs (see migration 0008), plan order otherwise. */
export function claimFor(job: Job, store: Store, jobId: string, limit: number, held: number) {
  return isTaskGraph(job) ? store.claimGraph(jobId, limit, held) : store.claim(jobId, limit, held);
}

/**
 * Folds a job's stored reports in plan order: for a pipeline those of its last stage, for a
 * fan-out those of its parents (each its fan-in's report), for any other job every task's.
 */
export async function reduceFor(job: Job, store: ReportReader, jobId: string): Promise<unknown> {
  if (!isTaskGraph(job)) return reduceReports(job, store, jobId);
  let acc = job.initial();
  if (!job.reduce) return acc;
  const last = job.stages ? lastStage(job.stages) : undefined;
  for await (const { seq, report } of store.graphReports(jobId, last)) {
    acc = job.reduce(acc, report, seq);
  }
  return acc;
}
