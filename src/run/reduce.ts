import type { Job } from '../job/types.ts';
import type { ReportReader } from '../store/index.ts';
import { type Combine, combineReports } from './mapReduce.ts';

/**
 * Folds the stored reports in plan order (a MapReduce job combines them by key). Reports always
 * come from the store, never from memory, so the result is the same whichever process ran which
 * task, and across resumes.
 */
export async function reduceReports(
  job: Job,
  store: ReportReader,
  jobId: string,
): Promise<unknown> {
  if (job.combine) return combineReports(job.combine as Combine, store.reports(jobId));
  let acc = job.initial();
  if (!job.reduce) return acc;
  for await (const { seq, report } of store.reports(jobId)) acc = job.reduce(acc, report, seq);
  return acc;
}
