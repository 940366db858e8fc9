import { afterAll } from 'vitest';
import { type JobRow, Store } from '../../src/store/index.ts';

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

/**
 * Opens stores on the test file's database, each joined as a process (a worker), and closes them
 * all after the file. Call it at the top level, after useTestDatabase, whose database it uses.
 */
export function useJoinedStores(url: () => string): () => Promise<Store> {
  const stores: Store[] = [];
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close().catch(() => {})));
  });
  return async () => {
    const store = await Store.open(url());
    stores.push(store);
    await store.join();
    return store;
  };
}
