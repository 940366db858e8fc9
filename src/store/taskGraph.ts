import type { Sql, TransactionSql } from 'postgres';
import type { ChildResult } from '../job/taskGraph.ts';
import type { ClaimedTask } from './claim.ts';
import { toJsonText } from './json.ts';
import { leaseSeconds } from './liveness.ts';
import { type Claim, completeTask } from './outcome.ts';

export type { ChildResult };

/** A claimed task of a job with stages or children, with its place in the graph. */
export interface GraphTask extends ClaimedTask {
  /** Pipeline stage name (null for the first stage) or a child's kind. */
  stage: string | null;
  /** Pipeline stage index; 1 for a fan-out child. */
  depth: number;
  /** The fan-out parent of a child. */
  parentSeq: number | null;
  /** The task's children are all finished: this run is its fan-in. */
  fanIn: boolean;
}

/** A task to append to a running job. */
export interface NewTask {
  stage: string | null;
  payload: unknown;
  items: number;
}

/** Claims like `claimTasks`, deepest task first, with each task's place in the graph. */
export async function claimGraphTasks(
  sql: Sql,
  jobId: string,
  processId: number,
  limit: number,
  /** How many of the job's tasks this process holds already, when known (migration 0017). */
  held?: number,
): Promise<GraphTask[]> {
  if (limit < 1) return [];
  return sql<GraphTask[]>`
    select seq, payload, items, attempts, epoch, checkpoint, stage, depth,
      parent_seq as "parentSeq", fan_in as "fanIn"
    from sluice.claim_graph_tasks(${jobId}, ${processId}, ${limit}, ${leaseSeconds}, ${held ?? null})`;
}

/**
 * Appends tasks to a job inside the caller's transaction and returns their first seq. Updating
 * the job row first serialises appenders; the insert that follows is a new statement, so its
 * snapshot sees every task committed before the lock was granted and seqs never collide.
 * `newItems` adds the tasks' items to the job's total (a micro-batch); items handed on from a
 * finished task (a pipeline stage) are already counted.
 */
export async function appendTasks(
  tx: TransactionSql,
  jobId: string,
  tasks: readonly NewTask[],
  graph: { depth: number; parentSeq: number | null; newItems: boolean },
): Promise<number> {
  // A null stage travels as '': postgres.js cannot type an array that starts with null.
  const added = graph.newItems ? tasks.reduce((sum, t) => sum + t.items, 0) : 0;
  await tx`
    update sluice.jobs set total_tasks = total_tasks + ${tasks.length},
      total_items = total_items + ${added}, updated_at = now()
    where id = ${jobId}`;
  const [row] = await tx<{ first: number }[]>`
    with next as (select coalesce(max(seq) + 1, 0) as first from sluice.tasks where job_id = ${jobId}),
    added as (
      insert into sluice.tasks (job_id, seq, stage, depth, parent_seq, payload, items)
      select ${jobId}, next.first + t.ord - 1, nullif(t.stage, ''), ${graph.depth}, ${graph.parentSeq}::int,
        t.payload::jsonb, t.items
      from next, unnest(${tasks.map((t) => t.stage ?? '')}::text[],
                        ${tasks.map((t) => toJsonText(t.payload))}::text[],
                        ${tasks.map((t) => t.items)}::bigint[]) with ordinality as t(stage, payload, items, ord)
    )
    select first from next`;
  return (row as { first: number }).first;
}

/**
 * Completes a pipeline stage task and appends the next stage's task with its outputs, in one
 * transaction: a stale worker appends nothing, and a crash never loses or repeats a hand-over.
 * The task's items move to the next task, so items count as done once the last stage has them.
 */
export async function completeStage(
  sql: Sql,
  claim: Claim,
  next: { stage: string; depth: number; outputs: readonly unknown[]; items: number },
): Promise<boolean> {
  const handOn = next.outputs.length > 0;
  return sql.begin(async (tx) => {
    if (!(await completeTask(tx, claim, { outputs: next.outputs.length }, handOn))) return false;
    if (handOn) {
      const task = { stage: next.stage, payload: next.outputs, items: next.items };
      await appendTasks(tx, claim.jobId, [task], {
        depth: next.depth,
        parentSeq: null,
        newItems: false,
      });
    }
    return true;
  }) as Promise<boolean>;
}

/**
 * Ends a parent's fan-out phase and inserts its children, in one transaction. The parent waits
 * until its last child finishes (the settle_parent trigger, migration 0008), then is claimable
 * again for its fan-in with fresh attempts; with no children it is claimable at once.
 */
export async function completeFanOut(
  sql: Sql,
  claim: Claim,
  children: readonly { kind: string; input: unknown }[],
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const rows = await tx`
      update sluice.tasks set status = ${children.length > 0 ? 'waiting' : 'pending'},
        open_children = ${children.length}, fan_in = true, attempts = 0, run_after = now(),
        owner = null, lease_until = null, error = null, error_stack = null
      where job_id = ${claim.jobId} and seq = ${claim.seq} and epoch = ${claim.epoch} and status = 'running'
      returning seq`;
    if (rows.length === 0) return false;
    if (children.length > 0) {
      const tasks = children.map((c) => ({ stage: c.kind, payload: c.input, items: 0 }));
      await appendTasks(tx, claim.jobId, tasks, {
        depth: 1,
        parentSeq: claim.seq,
        newItems: false,
      });
    }
    return true;
  }) as Promise<boolean>;
}

/** The finished children of a parent, in emission order. */
export async function readChildren(
  sql: Sql,
  jobId: string,
  parentSeq: number,
): Promise<ChildResult[]> {
  const rows = await sql<
    { kind: string; input: unknown; status: string; report: unknown; error: string | null }[]
  >`
    select stage as kind, payload as input, status, report, error from sluice.tasks
    where job_id = ${jobId} and parent_seq = ${parentSeq} order by seq`;
  return rows.map((row) =>
    row.status === 'done'
      ? { kind: row.kind, input: row.input, ok: true, report: row.report }
      : { kind: row.kind, input: row.input, ok: false, error: row.error ?? row.status },
  );
}

/**
 * The reports a job with stages or children reduces, in plan order: those of the last stage, or
 * of top-level tasks (a parent's report is its fan-in's). A page at a time, so memory stays flat.
 */
export async function* readGraphReports(
  sql: Sql | TransactionSql,
  jobId: string,
  lastStage: { name: string | null } | undefined,
): AsyncGenerator<{ seq: number; report: unknown }> {
  const pages = (
    lastStage
      ? sql<{ seq: number; report: unknown }[]>`
          select seq, report from sluice.tasks
          where job_id = ${jobId} and status = 'done' and stage is not distinct from ${lastStage.name}
          order by seq`
      : sql<{ seq: number; report: unknown }[]>`
          select seq, report from sluice.tasks
          where job_id = ${jobId} and status = 'done' and parent_seq is null order by seq`
  ).cursor(500);
  for await (const page of pages) yield* page;
}
