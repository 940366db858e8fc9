import type { Job, TaskContext } from '../job/types.ts';
import { checkReachable, openPool } from '../store/connect.ts';
import { pauseOnlyLimits, permitHandle } from './jobLimits.ts';
import { runSmokeTask } from './smokeTask.ts';
import { sourceInput } from './taskGraph.ts';

export interface SmokeResult {
  /** The first task's input, as the job's `run` received it; undefined when the plan is empty. */
  input: unknown;
  report: unknown;
  elapsedMs: number;
}

/**
 * Runs only the first planned task, in process and with nothing written to the state store: it
 * catches bad credentials, network access and SQL mistakes before a full run opens many
 * connections.
 */
export async function smokeTest(job: Job, sourceUrl: string): Promise<SmokeResult> {
  const sql = openPool(sourceUrl, { max: 2, purpose: `smoke:${job.name}` });
  const started = performance.now();
  try {
    await checkReachable(sql, sourceUrl);
    await job.prepare?.({ sql });
    const plan = job.source.plan({ sql })[Symbol.asyncIterator]();
    const first = await plan.next();
    await plan.return?.();
    if (first.done)
      return { input: undefined, report: undefined, elapsedMs: performance.now() - started };
    const payload = first.value.payload;
    const worker = await sql.reserve();
    let input: unknown;
    try {
      input = await sourceInput(job, payload, { sql: worker });
    } catch (error) {
      worker.release();
      throw error;
    }
    const signal = new AbortController().signal;
    let resource: unknown;
    try {
      resource = await job.setup?.({ sql: worker, signal });
      const limits = pauseOnlyLimits();
      const ctx: TaskContext = {
        sql: worker,
        resource,
        signal,
        attempt: 1,
        index: 0,
        log: {
          info: (m) => console.error(`[smoke] ${m}`),
          warn: (m) => console.error(`[smoke] ${m}`),
        },
        resumeFrom: undefined,
        checkpoint: async () => {},
        limit: permitHandle(limits, signal),
      };
      const report = await runSmokeTask(job, input, ctx, limits);
      return { input, report, elapsedMs: performance.now() - started };
    } finally {
      await job.teardown?.(resource, { sql: worker, signal });
      worker.release();
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
