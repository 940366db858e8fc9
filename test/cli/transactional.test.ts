// `transactional: true`: a task's writes and its completion commit together. Real CLI processes,
// killed with SIGKILL; the facts are read from the database.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { defineJob, tableRanges } from '../../src/index.ts';
import { type CliResult, finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { createTestDatabase, useTestDatabase } from '../support/db.ts';

const db = useTestDatabase();
const fixture = 'test/fixtures/transactionalJob.ts';
const gates: string[] = [];
afterAll(() => {
  for (const dir of gates) rmSync(dir, { recursive: true, force: true });
});

const rows = 6000;
const run = (env: Record<string, string>) =>
  spawnSluice(['run', fixture, '--database-url', db.url, '--json'], { ROWS: String(rows), ...env });

/** Rows applied more than once, rows missing or wrong, against the ground truth in `src_rows`. */
async function check() {
  const [row] = await db.sql<{ twice: number; wrong: number; written: number }[]>`
    select count(*) filter (where t.applications > 1)::int as twice,
           count(*) filter (where t.id is null or t.v <> s.v * 2)::int as wrong,
           count(t.id)::int as written
    from src_rows s full join target t on t.id = s.id`;
  return row as { twice: number; wrong: number; written: number };
}

const written = async () =>
  (await db.sql<{ n: number }[]>`select count(*)::int as n from target`)[0]?.n ?? 0;

/**
 * Runs the job, SIGKILLing it `kills` times, each a random 0-300 ms after it has written rows
 * (so the kill lands mid-work, not in start-up), then runs it to the end.
 */
async function killAndFinish(env: Record<string, string>, kills: number) {
  for (let i = 0; i < kills; i++) {
    const before = await written().catch(() => 0);
    const child = run(env);
    let exit: CliResult | undefined;
    const exited = finished(child).then((result) => {
      exit = result;
      return result;
    });
    await waitFor(async () => exit !== undefined || (await written().catch(() => 0)) > before);
    await new Promise((done) => setTimeout(done, Math.random() * 300));
    child.kill('SIGKILL');
    const result = await exited;
    // Every kill must land on a running job: one that finished first makes a weaker test.
    expect(result.signal, `run ${i + 1} ended by itself: ${result.stderr}`).toBe('SIGKILL');
  }
  const last = await finished(run(env));
  expect(last.code, last.stderr).toBe(0);
  expect(JSON.parse(last.stdout)).toMatchObject({ status: 'done', done: rows });
}

// Six kills here; the chaos suite (`CHAOS_TRANSACTIONAL=1 npm run chaos`) delivers twenty at scale.
test('6 SIGKILLs at random points: the target equals the truth and no row was applied twice', async () => {
  const env = { JOB_NAME: 'killed', SLEEP_MS: '30', ROWS_PER_RANGE: '20', CAP: '4' };
  await killAndFinish(env, 6);
  expect(await check()).toEqual({ twice: 0, wrong: 0, written: rows });
}, 180_000);

test('the same kills without `transactional` re-apply rows: what the test above guards against', async () => {
  await db.sql`drop table if exists target`;
  const env = { JOB_NAME: 'plain', SLEEP_MS: '30', ROWS_PER_RANGE: '20', TRANSACTIONAL: 'false' };
  await killAndFinish(env, 3);
  const { twice, wrong } = await check();
  expect(wrong).toBe(0);
  expect(twice).toBeGreaterThan(0);
}, 120_000);

test.each([
  [true, 1],
  [false, 2],
])(
  'a reclaimed task’s stale attempt (transactional: %s) applies its rows %i time(s) in all',
  async (transactional, applications) => {
    await db.sql`drop table if exists target`;
    const gate = mkdtempSync(join(tmpdir(), 'sluice-stale-'));
    gates.push(gate);
    const name = `stale-${transactional}`;
    const child = run({
      ...{ JOB_NAME: name, ROWS_PER_RANGE: String(rows), CAP: '2', GATE_DIR: gate },
      TRANSACTIONAL: String(transactional),
    });
    const exited = finished(child);
    await waitFor(async () => existsSync(join(gate, 'written-1')));
    const [task] = await db.sql<{ epoch: number }[]>`
    select t.epoch from sluice.tasks t join sluice.jobs j on j.id = t.job_id where j.name = ${name}`;
    const first = task?.epoch ?? 0;
    // Its lease runs out, as for a process paused past it: the task is reclaimed and claimed again
    // (by the same process's idle worker) while the first attempt still runs. Set again until then,
    // as the process renews its leases every 10 s.
    await waitFor(async () => {
      await db.sql`
        update sluice.tasks t set lease_until = now() - interval '1 second' from sluice.jobs j
        where j.id = t.job_id and j.name = ${name} and t.epoch = ${first} and t.status = 'running'`;
      const [now] = await db.sql<{ epoch: number }[]>`
        select t.epoch from sluice.tasks t join sluice.jobs j on j.id = t.job_id where j.name = ${name}`;
      return (now?.epoch ?? 0) > first;
    });
    writeFileSync(join(gate, 'go'), '');
    const result = await exited;
    expect(result.code, result.stderr).toBe(0);
    const [counts] = await db.sql<{ n: number; min: number; max: number; attempt: number }[]>`
    select count(*)::int as n, min(applications) as min, max(applications) as max,
      max(attempt) as attempt from target`;
    // The second attempt (attempt 2) wrote last either way; only without a transaction did the
    // first attempt's rows stay too.
    expect(counts).toEqual({ n: rows, min: applications, max: applications, attempt: 2 });
  },
  60_000,
);

test('a separate state database is refused with one line, before the job prepares anything', async () => {
  const state = await createTestDatabase();
  try {
    await db.sql`drop table if exists target, src_rows`;
    const result = await runSluice(
      ['run', fixture, '--database-url', db.url, '--state-url', state.url],
      { JOB_NAME: 'elsewhere' },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'sluice: Expected `transactional` jobs to write where their state lives: the state database (--state-url or SLUICE_STATE_URL) is not the source database\n',
    );
    const [found] = await db.sql`select to_regclass('target') as target`;
    expect(found?.target).toBeNull();
  } finally {
    await state.drop();
  }
});

const source = tableRanges({ table: 'src_rows', key: 'id', rowsPerRange: 10 });
const run1 = async () => 1;

test.each([
  [
    { transactionl: true },
    'Unknown option `transactionl` in defineJob({...}); did you mean `transactional`?',
  ],
  [{ transactional: 'yes' }, 'Expected `transactional` to be true or false'],
  [
    { transactional: true, executor: { mode: 'thread' } },
    'Expected `transactional` with executor `async` or `sequential`, got `thread`',
  ],
])('defineJob(%o) is refused', (options, message) => {
  expect(() => defineJob({ name: 'x', source, run: run1, ...(options as object) })).toThrow(
    message,
  );
});

test('--executor thread on a transactional job is refused with one line', async () => {
  const result = await runSluice(
    ['run', fixture, '--database-url', db.url, '--executor', 'thread:2'],
    { JOB_NAME: 'threads' },
  );
  expect(result.code).toBe(2);
  expect(result.stderr).toBe(
    "sluice: Expected `transactional` with executor `async` or `sequential`, got `thread`: a thread worker's writes and the task's completion would be on two connections\n",
  );
});
