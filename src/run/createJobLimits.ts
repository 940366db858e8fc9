import type { Job } from '../job/types.ts';
import type { Store } from '../store/index.ts';
import { type JobLimits, pauseOnlyLimits } from './jobLimits.ts';

/** Builds the limits a job declares, shared by every worker of this process. */
export function createJobLimits(job: Job, _store: Store, _jobId: string): JobLimits {
  return pauseOnlyLimits();
}
