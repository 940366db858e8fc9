// The cap is shared out among the processes that want a job's tasks: a process that joins a job
// whose cap another holds gets its share as the other's tasks end, instead of never running one.
import { expect, test } from 'vitest';
import type { ClaimedTask } from '../../src/store/index.ts';
import { useTestDatabase } from '../support/db.ts';
import { planJob, useJoinedStores } from '../support/jobs.ts';

const db = useTestDatabase({ max: 2 });
const open = useJoinedStores(() => db.url);
/** Running tasks of the job per owner, read from the table. */
async function held(jobId: string): Promise<number[]> {
  const rows = await db.sql<{ n: number }[]>`
    select count(*)::int as n from sluice.tasks where job_id = ${jobId} and status = 'running'
    group by owner order by n desc`;
  return rows.map((row) => row.n);
}

test('a second process gets half of a cap the first held whole, as the first one’s tasks end', async () => {
  const a = await open();
  const b = await open();
  const job = await planJob(a, 'shared', 40, 4);
  const aTasks: ClaimedTask[] = await a.claim(job.id, 4);
  expect(aTasks).toHaveLength(4);
  // The cap is full: B waits, and says so.
  expect(await b.claim(job.id, 4)).toEqual([]);
  const done = async (task: ClaimedTask) =>
    a.complete({ jobId: job.id, seq: task.seq, epoch: task.epoch }, null);

  // A's task ends; A is above its share of two now that B waits, so it claims none.
  await done(aTasks[0] as ClaimedTask);
  expect(await a.claim(job.id, 1)).toEqual([]);
  expect(await b.claim(job.id, 4)).toHaveLength(1);
  await done(aTasks[1] as ClaimedTask);
  expect(await a.claim(job.id, 1)).toEqual([]);
  expect(await b.claim(job.id, 4)).toHaveLength(1);
  expect(await held(job.id)).toEqual([2, 2]);

  // At its share, each claims again as its own tasks end, and never more than the cap together.
  await done(aTasks[2] as ClaimedTask);
  expect(await b.claim(job.id, 4)).toEqual([]);
  expect(await a.claim(job.id, 4)).toHaveLength(1);
  expect(await held(job.id)).toEqual([2, 2]);
});

test('a process alone takes the whole cap, and a waiter that left stops counting after 5 s', async () => {
  const a = await open();
  const b = await open();
  const job = await planJob(a, 'alone', 10, 4);
  const first = await a.claim(job.id, 4);
  expect(first).toHaveLength(4);
  expect(await b.claim(job.id, 4)).toEqual([]);
  await b.close();
  // B's row went with it: A takes the freed slot back at once.
  await a.complete({ jobId: job.id, seq: first[0]?.seq ?? 0, epoch: first[0]?.epoch ?? 0 }, null);
  expect(await a.claim(job.id, 4)).toHaveLength(1);

  // A waiter whose mark is older than 5 s (a process that stopped polling) counts for nothing.
  const c = await open();
  expect(await c.claim(job.id, 4)).toEqual([]);
  await db.sql`update sluice.processes set waiting_since = now() - interval '6 seconds'
    where waiting_job = ${job.id}`;
  await a.complete({ jobId: job.id, seq: first[1]?.seq ?? 0, epoch: first[1]?.epoch ?? 0 }, null);
  expect(await a.claim(job.id, 4)).toHaveLength(1);
});

test('a claim that says how many tasks it holds skips the count only while it cannot pass its share', async () => {
  const a = await open();
  const b = await open();
  const job = await planJob(a, 'shared-held', 40, 4);
  // Alone at the job, A takes the whole cap, as the pool asks: held 0, room 4.
  const aTasks: ClaimedTask[] = await a.claim(job.id, 4, 0);
  expect(aTasks).toHaveLength(4);
  expect(await b.claim(job.id, 4, 0)).toEqual([]);
  await a.complete({ jobId: job.id, seq: aTasks[0]?.seq ?? 0, epoch: aTasks[0]?.epoch ?? 0 }, null);
  // A holds 3, above its share of 2 with B waiting: its claim counts, and takes none.
  expect(await a.claim(job.id, 1, 3)).toEqual([]);
  // B holds none: one task cannot take it past a share of 2, so it claims without counting.
  expect(await b.claim(job.id, 1, 0)).toHaveLength(1);
  expect(await held(job.id)).toEqual([3, 1]);
});
