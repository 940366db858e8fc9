import type { Source } from '../../src/job/types.ts';

/** A source that plans nothing, for tests of job options that never run the job. */
export const fakeSource: Source<number> = {
  describe: 'fake',
  fingerprint: 'f',
  unit: 'items',
  taskNoun: 'tasks',
  input: (payload) => payload as number,
  async *plan() {},
};
