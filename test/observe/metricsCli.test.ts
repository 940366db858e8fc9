import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type postgres from 'postgres';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type CliResult, finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';
import { type Exposition, sampleValue, scrape, seriesOf } from './metricsText.ts';

const db = useTestDatabase();
const job = 'test/observe/metricsJob.ts';
let dir: string;
const running: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-metrics-'));
});
afterAll(async () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

interface Cli {
  child: ChildProcess;
  /** Where it serves its metrics, once it says so on stderr. */
  url: Promise<string>;
  exited: Promise<CliResult>;
}

/** Starts the CLI with `--metrics-port 0` (any free port) and reads the URL it prints. */
function startCli(args: string[], env: Record<string, string>): Cli {
  const child = spawnSluice([...args, '--database-url', db.url, '--metrics-port', '0'], env);
  running.push(child);
  const exited = finished(child);
  let stderr = '';
  const url = new Promise<string>((found, failed) => {
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
      const match = /^Metrics at (http:\/\/\S+)$/m.exec(stderr);
      if (match) found(match[1] as string);
    });
    void exited.then((result) =>
      failed(new Error(`exited ${result.code} before serving metrics:\n${result.stderr}`)),
    );
  });
  return { child, url, exited };
}

const storeWideFamilies = [
  'sluice_items_total',
  'sluice_tasks',
  'sluice_dead_letters',
  'sluice_job_info',
  'sluice_job_processes',
];

/** The store-wide families of a scrape, as `seriesOf` writes them. */
function storeWide(exposition: Exposition): Record<string, Record<string, number>> {
  return Object.fromEntries(storeWideFamilies.map((name) => [name, seriesOf(exposition, name)]));
}

/**
 * The same figures read from the store by SQL of the test's own: items from the per-item outcomes
 * (not the tasks' counts the metrics read), tasks by state, letters, and each job's status.
 */
async function storeFigures(sql: postgres.Sql): Promise<Record<string, Record<string, number>>> {
  const jobs = await sql<{ name: string; status: string }[]>`select name, status from sluice.jobs`;
  const figures: Record<string, Record<string, number>> = Object.fromEntries(
    storeWideFamilies.map((name) => [name, {}]),
  );
  for (const { name, status } of jobs) {
    figures.sluice_items_total = {
      ...figures.sluice_items_total,
      [`job=${name},outcome=failed`]: 0,
      [`job=${name},outcome=succeeded`]: 0,
    };
    for (const state of ['pending', 'running', 'waiting', 'done', 'failed']) {
      (figures.sluice_tasks as Record<string, number>)[`job=${name},state=${state}`] = 0;
    }
    (figures.sluice_dead_letters as Record<string, number>)[`job=${name}`] = 0;
    (figures.sluice_job_info as Record<string, number>)[`job=${name},status=${status}`] = 1;
    (figures.sluice_job_processes as Record<string, number>)[`job=${name}`] = 0;
  }
  const set = (family: string, key: string, value: number) => {
    (figures[family] as Record<string, number>)[key] = value;
  };
  for (const row of await sql<{ name: string; ok: boolean; n: number }[]>`
    select j.name, o.ok, count(*)::int as n from sluice.outcomes o
    join sluice.jobs j on j.id = o.job_id where not o.superseded group by j.name, o.ok`) {
    set('sluice_items_total', `job=${row.name},outcome=${row.ok ? 'succeeded' : 'failed'}`, row.n);
  }
  for (const row of await sql<{ name: string; status: string; n: number }[]>`
    select j.name, t.status, count(*)::int as n from sluice.tasks t
    join sluice.jobs j on j.id = t.job_id group by j.name, t.status`) {
    set('sluice_tasks', `job=${row.name},state=${row.status}`, row.n);
  }
  for (const row of await sql<{ name: string; n: number }[]>`
    select j.name, count(*)::int as n from sluice.dead_letters d
    join sluice.jobs j on j.id = d.job_id group by j.name`) {
    set('sluice_dead_letters', `job=${row.name}`, row.n);
  }
  for (const row of await sql<{ name: string; n: number }[]>`
    select j.name, count(distinct t.owner)::int as n from sluice.tasks t
    join sluice.jobs j on j.id = t.job_id where t.status = 'running' group by j.name`) {
    set('sluice_job_processes', `job=${row.name}`, row.n);
  }
  return figures;
}

/** A job's tasks by state, e.g. `done:2 running:2`. */
async function taskStates(name: string): Promise<string> {
  const rows = await db.sql<{ status: string; n: number }[]>`
    select t.status, count(*)::int as n from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = ${name} group by t.status order by t.status`;
  return rows.map((row) => `${row.status}:${row.n}`).join(' ');
}

const jobStatus = async (name: string) =>
  (await db.sql<{ status: string }[]>`select status from sluice.jobs where name = ${name}`)[0]
    ?.status;

test("store-wide values are the store's, mid-run and at the end, for every job", async () => {
  // Another job, planned and not run: a scrape shows every job in the store.
  const other = await runSluice(['run', job, '--database-url', db.url, '--detach'], {
    ...{ JOB_NAME: 'metrics-other', ITEMS: '30' },
  });
  expect(other.code, other.stderr).toBe(0);
  const gate = join(dir, 'gate');
  const run = startCli(['run', job], {
    ...{ JOB_NAME: 'metrics-run', ITEMS: '40', CHUNK: '10', FAIL_EVERY: '7' },
    ...{ OPEN_AFTER: '25', GATE_FILE: gate },
  });
  const url = await run.url;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  // Held at the gate: chunks 1 and 2 are recorded, 3 and 4 wait at it. Nothing in the store
  // moves until it opens.
  await waitFor(async () => (await taskStates('metrics-run')) === 'done:2 running:2', 60_000);
  const mid = await scrape(url);
  expect(storeWide(mid)).toEqual(await storeFigures(db.sql));
  const runJob = { job: 'metrics-run' };
  expect(sampleValue(mid, 'sluice_items_total', { ...runJob, outcome: 'succeeded' })).toBe(18);
  expect(sampleValue(mid, 'sluice_items_total', { ...runJob, outcome: 'failed' })).toBe(2);
  expect(sampleValue(mid, 'sluice_job_processes', runJob)).toBe(1);
  expect(sampleValue(mid, 'sluice_job_info', { ...runJob, status: 'running' })).toBe(1);
  expect(sampleValue(mid, 'sluice_tasks', { job: 'metrics-other', state: 'pending' })).toBe(3);

  await writeFile(gate, 'open');
  const result = await run.exited;
  expect(result.code, result.stderr).toBe(3);
  // At the end, from a worker that waits for the job's next run: any process serves every job.
  const worker = startCli(['worker', job], { JOB_NAME: 'metrics-run' });
  const end = await scrape(await worker.url);
  expect(storeWide(end)).toEqual(await storeFigures(db.sql));
  expect(sampleValue(end, 'sluice_items_total', { ...runJob, outcome: 'succeeded' })).toBe(35);
  expect(sampleValue(end, 'sluice_dead_letters', runJob)).toBe(5);
  expect(sampleValue(end, 'sluice_job_processes', runJob)).toBe(0);
  expect(sampleValue(end, 'sluice_job_info', { ...runJob, status: 'failed' })).toBe(1);
  worker.child.kill('SIGTERM');
  await worker.exited;
});

test('each process counts the tasks and permits it ran itself', async () => {
  const log = join(dir, 'ran.log');
  const env = { JOB_NAME: 'metrics-shared', ITEMS: '60', CHUNK: '5', RAN_LOG: log };
  const planned = await runSluice(['run', job, '--database-url', db.url, '--detach'], env);
  expect(planned.code, planned.stderr).toBe(0);
  const workers = [1, 2].map(() => startCli(['worker', job, '--concurrency', '1'], env));
  const urls = await Promise.all(workers.map((w) => w.url));
  const labels = { job: 'metrics-shared' };
  const tasksOf = (e: Exposition) =>
    sampleValue(e, 'sluice_task_duration_seconds_count', labels) ?? 0;
  // Both workers stay up, waiting for the job's next run, once its 12 tasks are done.
  await waitFor(async () => (await jobStatus('metrics-shared')) === 'done', 60_000);
  let scrapes: Exposition[] = [];
  await waitFor(async () => {
    scrapes = await Promise.all(urls.map(scrape));
    return scrapes.reduce((sum, e) => sum + tasksOf(e), 0) === 12;
  });
  // What each process ran, by its own account: a line per item, with its pid.
  const lines = (await readFile(log, 'utf8')).trim().split('\n');
  workers.forEach((worker, i) => {
    const items = lines.filter((line) => line.startsWith(`${worker.child.pid} `));
    const chunksRan = new Set(items.map((line) => Math.ceil(Number(line.split(' ')[1]) / 5)));
    const scraped = scrapes[i] as Exposition;
    expect(tasksOf(scraped), `worker ${i + 1}`).toBe(chunksRan.size);
    expect(sampleValue(scraped, 'sluice_rate_limit_wait_seconds_count', labels)).toBe(items.length);
    // One task at a time: a claim for each task it ran, and empty ones while the other held the
    // cap (a worker slow to start on a loaded machine may find the job done and claim nothing).
    expect(sampleValue(scraped, 'sluice_claim_duration_seconds_count') ?? 0).toBeGreaterThanOrEqual(
      chunksRan.size,
    );
    expect(sampleValue(scraped, 'sluice_worker_restarts_total', labels)).toBe(0);
  });
  expect(lines).toHaveLength(60);
  for (const worker of workers) worker.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
});

test('a pooled process worker that died and was replaced counts as a restart', async () => {
  const [gate, marker, log] = ['crash-gate', 'crashed', 'crash.log'].map((f) => join(dir, f)) as [
    string,
    string,
    string,
  ];
  const run = startCli(['run', job, '--executor', 'process:1'], {
    ...{ JOB_NAME: 'metrics-crash', ITEMS: '10', CHUNK: '10', RAN_LOG: log },
    ...{ CRASH_AT: '3', CRASH_MARKER: marker, OPEN_AFTER: '5', GATE_FILE: gate },
  });
  const url = await run.url;
  // The worker process dies at item 3; the retry runs in its replacement, and waits at item 6.
  const ranBy = async () => {
    const lines = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n');
    return new Set(lines.filter((line) => line.endsWith(' 6')).map((line) => line.split(' ')[0]));
  };
  await waitFor(async () => (await ranBy()).size === 1, 60_000);
  const held = await scrape(url);
  const labels = { job: 'metrics-crash' };
  expect(sampleValue(held, 'sluice_worker_restarts_total', labels)).toBe(1);
  expect(sampleValue(held, 'sluice_task_duration_seconds_count', labels)).toBe(0);
  await writeFile(gate, 'open');
  const result = await run.exited;
  expect(result.code, result.stderr).toBe(0);
});

test('a bad or taken port is one line and exit 2, before anything is planned', async () => {
  const bad = await runSluice(['run', job, '--database-url', db.url, '--metrics-port', '70000']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toBe(
    'sluice: Expected `--metrics-port` to be a port from 0 to 65535, got `"70000"` (string)\n',
  );
  const holder = startCli(['worker', job], { JOB_NAME: 'metrics-nothing' });
  const port = new URL(await holder.url).port;
  const taken = await runSluice(['run', job, '--database-url', db.url, '--metrics-port', port], {
    JOB_NAME: 'metrics-taken',
  });
  expect(taken.code).toBe(2);
  expect(taken.stderr).toBe(
    `sluice: Cannot serve metrics on 127.0.0.1:${port}: the port is in use\n`,
  );
  expect(await jobStatus('metrics-taken')).toBeUndefined();
  holder.child.kill('SIGTERM');
  await holder.exited;
});
