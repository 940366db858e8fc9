import { wrongShape } from '../errors.ts';
import type { Stage } from '../job/taskGraph.ts';
import type { Job, TaskContext } from '../job/types.ts';
import type { Claim, GraphTask } from '../store/index.ts';
import { type GraphRunner, type GraphStep, sourceInput } from './taskGraph.ts';

/**
 * One task of a pipeline stage. The first stage's input comes from the source; a later stage's
 * is the outputs of the task before it. Completing a task that is not the last stage's appends
 * the next stage's task in the same transaction, so the next stage starts on it at once.
 */
export function stageStep(r: GraphRunner, task: GraphTask, claim: Claim): GraphStep {
  const stages = r.job.stages as readonly Stage[];
  const current = stages[task.depth] as Stage;
  const next = stages[task.depth + 1];
  return {
    place: async () => ({ kind: 'stage', depth: task.depth }),
    complete: async (value) => {
      if (!next) return r.store.complete(claim, value);
      if (!Array.isArray(value))
        throw wrongShape(`stage ${current.name}`, 'to return an array of outputs', value);
      return r.store.completeStage(claim, {
        stage: next.name,
        depth: task.depth + 1,
        outputs: value,
        items: task.items,
      });
    },
  };
}

/** Runs stage `depth` of the job on its input: the source's for the first, else the payload. */
export async function runStage(job: Job, depth: number, payload: unknown, ctx: TaskContext) {
  const stage = (job.stages as readonly Stage[])[depth] as Stage;
  return stage.run(depth === 0 ? await sourceInput(job, payload, ctx) : payload, ctx);
}

/** The stage whose reports the job reduces: the last; the first stage's tasks have no name. */
export function lastStage(stages: readonly Stage[]): { name: string | null } {
  return { name: stages.length === 1 ? null : (stages.at(-1) as Stage).name };
}
