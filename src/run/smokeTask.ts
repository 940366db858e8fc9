import { toError } from '../errors.ts';
import type { ChildResult, Stage } from '../job/taskGraph.ts';
import type { Job, TaskContext } from '../job/types.ts';
import { checkChildren } from './fanOut.ts';
import type { ItemLimits } from './runItems.ts';
import { runItems } from './runItems.ts';

/**
 * Runs the first task of a smoke test the whole way, in process: a chunk item by item, a pipeline
 * batch through every stage, a fan-out parent through its children and its fan-in. Nothing goes
 * near the store, so a smoke test of a task graph needs no appended tasks.
 */
export async function runSmokeTask(
  job: Job,
  input: unknown,
  ctx: TaskContext,
  limits: ItemLimits,
): Promise<unknown> {
  if (job.stages) return throughStages(job.stages, input, ctx);
  if (job.fanOut) return throughChildren(job, input, ctx);
  if (job.each) return runItems(job, input as unknown[], ctx, limits);
  const report = await (job.run as NonNullable<Job['run']>)(input, ctx);
  // A Map of partials would print as `{}`.
  return job.combine && report instanceof Map ? Object.fromEntries(report) : report;
}

async function throughStages(stages: readonly Stage[], input: unknown, ctx: TaskContext) {
  let value = input;
  for (const stage of stages) value = await stage.run(value, ctx);
  return value;
}

async function throughChildren(job: Job, input: unknown, ctx: TaskContext) {
  const handlers = job.handlers ?? {};
  const children = checkChildren(
    await (job.fanOut as NonNullable<Job['fanOut']>)(input, ctx),
    handlers,
  );
  const results: ChildResult[] = [];
  for (const { kind, input: childInput } of children) {
    const handler = handlers[kind] as NonNullable<Job['handlers']>[string];
    try {
      results.push({ kind, input: childInput, ok: true, report: await handler(childInput, ctx) });
    } catch (error) {
      results.push({ kind, input: childInput, ok: false, error: toError(error).message });
    }
  }
  return (job.fanIn as NonNullable<Job['fanIn']>)(input, results, ctx);
}
