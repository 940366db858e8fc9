import type { JobRow, Store } from '../../src/store/index.ts';

/**
 * Plans a job through the store: `tasks` tasks of one item each (payload `{ i }`), under `cap`,
 * with `attempts` tries a task.
 */
export async function planJob(
  store: Store,
  name: string,
  tasks: number,
  cap: number,
  attempts = 3,
): Promise<JobRow> {
  const { job } = await store.findOrCreateJob(
    { name, source: 'test', fingerprint: 'f', maxParallelism: cap, maxAttempts: attempts },
    async function* () {
      for (let i = 0; i < tasks; i++) yield { payload: { i }, items: 1 };
    },
  );
  return job;
}
