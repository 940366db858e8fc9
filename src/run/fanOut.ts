import { wrongShape } from '../errors.ts';
import type { FanOutChild } from '../job/taskGraph.ts';
import type { Job, TaskContext } from '../job/types.ts';
import type { Claim, GraphTask } from '../store/index.ts';
import { type GraphPlace, type GraphRunner, type GraphStep, sourceInput } from './taskGraph.ts';

/**
 * One task of a fan-out job, in one of three places: a parent emitting its children (`fanOut`),
 * a child (`handlers[kind]`), or a parent whose children are all finished (`fanIn`, exactly once
 * per parent: only the last child to finish puts it back in the queue).
 */
export function fanOutStep(r: GraphRunner, task: GraphTask, claim: Claim): GraphStep {
  const complete = (report: unknown) => r.store.complete(claim, report);
  if (task.parentSeq !== null) {
    return { place: async () => ({ kind: 'child', handler: task.stage ?? '' }), complete };
  }
  if (task.fanIn) {
    return {
      place: async () => ({ kind: 'fanIn', children: await r.store.children(r.jobId, task.seq) }),
      complete,
    };
  }
  return {
    place: async () => ({ kind: 'fanOut' }),
    complete: async (children) =>
      r.store.completeFanOut(claim, checkChildren(children, r.job.handlers ?? {})),
  };
}

/** Runs the job's `fanOut`, a child's handler, or `fanIn`, for a task's place. */
export async function runFanOutPlace(
  job: Job,
  place: Exclude<GraphPlace, { kind: 'stage' }>,
  payload: unknown,
  ctx: TaskContext,
): Promise<unknown> {
  switch (place.kind) {
    case 'child': {
      const handler = job.handlers?.[place.handler];
      if (!handler) throw wrongShape('kind', `one of the job's handlers`, place.handler);
      return handler(payload, ctx);
    }
    case 'fanIn':
      return (job.fanIn as NonNullable<Job['fanIn']>)(
        await sourceInput(job, payload, ctx),
        place.children,
        ctx,
      );
    case 'fanOut':
      return (job.fanOut as NonNullable<Job['fanOut']>)(await sourceInput(job, payload, ctx), ctx);
  }
}

/** Checks what `fanOut` returned before any child is written (or, in a smoke test, run). */
export function checkChildren(value: unknown, handlers: object): FanOutChild[] {
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
