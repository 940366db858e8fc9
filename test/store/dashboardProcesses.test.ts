import { hostname } from 'node:os';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Store } from '../../src/store/index.ts';
import { processLockClass } from '../../src/store/liveness.ts';
import { useTestDatabase } from '../support/db.ts';
import { planJob } from '../support/jobs.ts';

const db = useTestDatabase({ max: 2 });
const stores: Store[] = [];
let reader: Store;

async function open(): Promise<Store> {
  const store = await Store.open(db.url);
  stores.push(store);
  return store;
}

const plan = (store: Store, name: string, tasks: number) => planJob(store, name, tasks, 10);

const processRow = async (id: number) =>
  (
    await db.sql`select id, host, pid, started_at, last_seen_at from sluice.processes where id = ${id}`
  )[0];

beforeAll(async () => {
  reader = await open();
});

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close().catch(() => {})));
});

test('a process is listed with its host and pid while it lives, and gone once it leaves', async () => {
  const worker = await open();
  const id = await worker.join();
  const row = await processRow(id);
  expect(row).toMatchObject({ id, host: hostname(), pid: process.pid });
  expect(row?.last_seen_at).toEqual(row?.started_at);

  const job = await plan(worker, 'alive', 5);
  expect(await worker.claim(job.id, 3)).toHaveLength(3);
  const [listed] = await reader.dashboard.processes(job.id);
  expect(listed).toMatchObject({
    id,
    host: hostname(),
    pid: process.pid,
    alive: true,
    tasksHeld: 3,
  });
  expect(listed?.startedAt).toBe((row?.started_at as Date | undefined)?.toISOString());
  expect((await reader.dashboard.processCounts([job.id])).get(job.id)).toBe(1);
  const running = await reader.dashboard.runningTasks(job.id);
  expect(running.map((t) => [t.owner, t.host, t.pid, t.attempt])).toEqual(
    Array.from({ length: 3 }, () => [id, hostname(), process.pid, 1]),
  );

  await worker.close();
  expect(await processRow(id)).toBeUndefined();
  // Its tasks stay running until someone reclaims them, but no live process holds them.
  const [dead] = await reader.dashboard.processes(job.id);
  expect(dead).toMatchObject({ id, host: null, alive: false, tasksHeld: 3 });
  expect((await reader.dashboard.processCounts([job.id])).get(job.id)).toBe(0);
});

test('a lease renewal says the process is still there', async () => {
  const worker = await open();
  const id = await worker.join();
  const before = (await processRow(id))?.last_seen_at as Date;
  await db.sql`update sluice.processes set last_seen_at = last_seen_at - interval '1 minute' where id = ${id}`;
  await worker.renewLeases('0');
  const after = (await processRow(id))?.last_seen_at as Date;
  expect(after.getTime()).toBeGreaterThanOrEqual(before.getTime());
});

test('a process that died without leaving shows as dead, and the next one to join deletes its row', async () => {
  const job = await plan(reader, 'crashed', 2);
  // A row and a task of process 999,999, whose lock nobody holds: it died.
  await db.sql`insert into sluice.processes (id, host, pid) values (999999, 'gone-host', 4242)`;
  await db.sql`update sluice.tasks set status = 'running', owner = 999999, attempts = 1
    where job_id = ${job.id} and seq = 0`;
  const [dead] = await reader.dashboard.processes(job.id);
  expect(dead).toMatchObject({
    id: 999999,
    host: 'gone-host',
    pid: 4242,
    alive: false,
    tasksHeld: 1,
  });
  expect((await reader.dashboard.processCounts([job.id])).get(job.id)).toBe(0);

  const newcomer = await open();
  await newcomer.join();
  expect(await processRow(999999)).toBeUndefined();
});

test('a process id taken again replaces the row its earlier holder left', async () => {
  const worker = await open();
  const id = await worker.join();
  // A stale row under the next id, as if the sequence had cycled past a process that died.
  await db.sql`insert into sluice.processes (id, host, pid, started_at)
    values (${id + 1}, 'old-host', 1, now() - interval '1 day')`;
  const next = await open();
  expect(await next.join()).toBe(id + 1);
  expect(await processRow(id + 1)).toMatchObject({ host: hostname(), pid: process.pid });
  // Its lock is the one the dashboard checks.
  const [lock] = await db.sql`select count(*)::int as n from pg_locks
    where locktype = 'advisory' and classid = ${processLockClass}::int::oid and objid = ${id + 1}::int::oid
      and database = (select oid from pg_database where datname = current_database())`;
  expect(lock?.n).toBe(1);
});
