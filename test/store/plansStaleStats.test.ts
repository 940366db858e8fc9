import { afterAll, beforeAll, expect, test } from 'vitest';
import { claimTasks } from '../../src/store/claim.ts';
import { Store } from '../../src/store/index.ts';
import { claimGraphTasks } from '../../src/store/taskGraph.ts';
import { useTestDatabase } from '../support/db.ts';
import { planJob } from '../support/jobs.ts';
import { type ExplainedStatement, explainingSession, squeezed } from './plansExplain.ts';

// Statistics taken while the table held a few tasks, all pending, kept while the jobs grew and
// most of their tasks finished: the planner then believes `status = 'pending'` matches the whole
// job, and under 0007 the claim walked the primary key through every finished task of its job.
const db = useTestDatabase();
const tasks = 20_000;
const analyzedTasks = 10;
const finished = 19_000;
const bufferBudget = 50;

let store: Store;
let session: Awaited<ReturnType<typeof explainingSession>>;
let processId: number;
const jobs: Record<'parallel' | 'sequential', string> = { parallel: '', sequential: '' };

const plan = async (name: string, cap: number) =>
  (await planJob(store, name, analyzedTasks, cap)).id;

beforeAll(async () => {
  store = await Store.open(db.url);
  processId = await store.join();
  await db.sql`alter table sluice.tasks set (autovacuum_enabled = off)`;
  jobs.parallel = await plan('parallel', 8);
  jobs.sequential = await plan('sequential', 1);
  await db.sql`analyze sluice.tasks`;
  await db.sql`
    insert into sluice.tasks (job_id, seq, payload, items)
    select j.id, g, jsonb_build_object('i', g), 1
    from sluice.jobs j, generate_series(${analyzedTasks}::int, ${tasks - 1}::int) g`;
  await db.sql`update sluice.jobs set total_tasks = ${tasks}, total_items = ${tasks}`;
  await db.sql`update sluice.tasks set status = 'done', finished_at = now() where seq < ${finished}`;
  // Vacuum, not analyze: the finished tasks' old index entries go, the statistics stay.
  await db.sql`vacuum sluice.tasks`;
  session = await explainingSession(db.url);
  // A session's first claim also reads the catalogs for every function and table it touches
  // (770 buffers on PostgreSQL 15): warm them on a job of its own, as any process's first claim does.
  const warm = await plan('warm-up', 2);
  await claimTasks(session.sql, warm, processId, 1);
  await claimGraphTasks(session.sql, warm, processId, 1);
}, 120_000);

afterAll(async () => {
  await session?.end();
  await store?.close();
});

/** The statements of a claim function's own body that ran, without its triggers'. */
async function ownStatements(fn: string, statements: ExplainedStatement[]) {
  const [row] = await db.sql<{ source: string }[]>`
    select prosrc as source from pg_proc where oid = ${fn}::regproc`;
  const body = squeezed((row?.source ?? '').replace(/\binto\s+v_\w+(?:\s*,\s*v_\w+)*/g, ''));
  return statements.filter((s) => body.includes(squeezed(s.query)));
}

function expectIndexedAndSmall(own: ExplainedStatement[]) {
  expect(own.length).toBeGreaterThanOrEqual(3);
  const scans = own.flatMap((s) => s.scans);
  expect(scans.filter((scan) => scan.startsWith('Seq Scan on tasks'))).toEqual([]);
  expect(own.reduce((n, s) => n + s.buffers, 0)).toBeLessThanOrEqual(bufferBudget);
}

test('the statistics still say every task is pending', async () => {
  const [stats] = await db.sql<{ values: string[] }[]>`
    select most_common_vals::text::text[] as values from pg_stats
    where schemaname = 'sluice' and tablename = 'tasks' and attname = 'status'`;
  expect(stats?.values).toEqual(['pending']);
});

for (const [kind, fn] of [
  ['claim', 'sluice.claim_tasks'],
  ['graph claim', 'sluice.claim_graph_tasks'],
] as const) {
  test(`a ${kind} past ${finished} finished tasks of its job reads at most ${bufferBudget} buffers`, async () => {
    const claim = kind === 'claim' ? claimTasks : claimGraphTasks;
    for (let round = 0; round < 8; round++) {
      let claimed: { seq: number; epoch: number }[] = [];
      const statements = await session.explain(async () => {
        claimed = await claim(session.sql, jobs.parallel, processId, 2);
      });
      expect(claimed).toHaveLength(2);
      expectIndexedAndSmall(await ownStatements(fn, statements));
      for (const task of claimed) {
        await store.complete({ jobId: jobs.parallel, seq: task.seq, epoch: task.epoch }, 'ok');
      }
    }
  });
}

test(`a sequential claim takes the first pending task, reading at most ${bufferBudget} buffers`, async () => {
  for (let round = 0; round < 8; round++) {
    let claimed: { seq: number; epoch: number }[] = [];
    const statements = await session.explain(async () => {
      claimed = await claimTasks(session.sql, jobs.sequential, processId, 3);
    });
    expect(claimed.map((task) => task.seq)).toEqual([finished + round]);
    expectIndexedAndSmall(await ownStatements('sluice.claim_tasks', statements));
    const [task] = claimed;
    if (task)
      await store.complete({ jobId: jobs.sequential, seq: task.seq, epoch: task.epoch }, 'ok');
  }
});
