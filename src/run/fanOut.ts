import { wrongShape } from '../errors.ts';
import type { FanOutChild } from '../job/taskGraph.ts';
import type { Job } from '../job/types.ts';
import type { Claim, GraphTask } from '../store/index.ts';
import { type GraphRunner, type GraphStep, sourceInput } from './taskGraph.ts';

/**
 * One task of a fan-out job, in one of three places: a parent emitting its children (`fanOut`),
 * a child (`handlers[kind]`), or a parent whose children are all finished (`fanIn`, exactly once
 * per parent: only the last child to finish puts it back in the queue).
 */
export function fanOutStep(r: GraphRunner, task: GraphTask, claim: Claim): GraphStep {
  const job = r.job;
  if (task.parentSeq !== null) {
    const handler = job.handlers?.[task.stage ?? ''];
    return {
      run: async (ctx) => {
        if (!handler) throw wrongShape('kind', `one of the job's handlers`, task.stage);
        return handler(task.payload, ctx);
      },
      complete: (report) => r.store.complete(claim, report),
    };
  }
  if (task.fanIn) {
    return {
      run: async (ctx) => {
        const children = await r.store.children(r.jobId, task.seq);
        const input = await sourceInput(job, task.payload, ctx);
        return (job.fanIn as NonNullable<Job['fanIn']>)(input, children, ctx);
      },
      complete: (report) => r.store.complete(claim, report),
    };
  }
  return {
    run: async (ctx) =>
      (job.fanOut as NonNullable<Job['fanOut']>)(await sourceInput(job, task.payload, ctx), ctx),
    complete: async (children) =>
      r.store.completeFanOut(claim, checkChildren(children, job.handlers ?? {})),
  };
}

/** Checks what `fanOut` returned before any child is written. */
function checkChildren(value: unknown, handlers: object): FanOutChild[] {
  if (!Array.isArray(value))
    throw wrongShape('fanOut', 'to return an array of { kind, input }', value);
  value.forEach((child, i) => {
    const kind = (child as Partial<FanOutChild> | null)?.kind;
    if (typeof kind !== 'string' || !Object.hasOwn(handlers, kind)) {
      throw wrongShape(
        `fanOut()[${i}].kind`,
        `one of the job's handlers (${Object.keys(handlers).join(', ')})`,
        kind,
      );
    }
  });
  return value as FanOutChild[];
}
