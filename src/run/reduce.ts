import type { Job } from '../job/types.ts';
import type { Store } from '../store/index.ts';

/**
 * Folds the stored reports in plan order. Reports always come from the store, never from memory,
 * so the result is the same whichever process ran which task, and across resumes.
 */
export async function reduceReports(job: Job, store: Store, jobId: string): Promise<unknown> {
  let acc = job.initial();
  if (!job.reduce) return acc;
  for await (const { seq, report } of store.reports(jobId)) acc = job.reduce(acc, report, seq);
  return acc;
}
