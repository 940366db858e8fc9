// (a) The store as it is: sluice.claim_tasks (migration 0007) and completeTask, called through
// src/store, on a job the store itself created.
import type { Sql } from 'postgres';
import { claimTasks } from '../../src/store/claim.ts';
import type { Store } from '../../src/store/index.ts';
import { completeTask } from '../../src/store/outcome.ts';
import type { Design } from './design.ts';

export function currentDesign(store: Store): Design {
  return {
    key: 'a-current',
    label: 'sluice.claim_tasks today: job row FOR UPDATE, count(*) running, SKIP LOCKED',
    capped: true,
    schema: 'sluice',
    async createJob(cap, tasks) {
      const { job } = await store.findOrCreateJob(
        {
          name: `bench-claims-${crypto.randomUUID()}`,
          source: 'bench',
          fingerprint: 'bench',
          maxParallelism: cap,
          maxAttempts: 3,
        },
        async function* plan() {
          for (let i = 0; i < tasks; i++) yield { payload: { i }, items: 1 };
        },
      );
      return job.id;
    },
    async claim(db, jobId, owner) {
      // A claimer completes its task before it claims again: it holds none of the job's tasks.
      const [task] = await claimTasks(db as Sql, jobId, owner, 1, 0);
      return task && { seq: task.seq, epoch: task.epoch };
    },
    complete: (db, jobId, task) => completeTask(db, { jobId, ...task }, { ok: true }),
  };
}
