// Takes docs/dashboard-jobs.png and docs/dashboard-job.png from a real run: a few jobs in every
// state on a database of their own, `sluice dashboard` over them, and Chromium. Needs a built
// dist/ (npm run build) and a server: node --import tsx test/dashboard/screenshots.ts [server-url]
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import postgres from 'postgres';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { chromiumOptions } from './support.ts';

const server =
  process.argv[2] ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const name = `sluice_screens_${randomBytes(4).toString('hex')}`;
const admin = postgres(server, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database "${name}"`);
const url = new URL(server);
url.pathname = `/${name}`;
const db = url.toString();
const dir = await mkdtemp(join(tmpdir(), 'sluice-screens-'));
const children: ReturnType<typeof spawnSluice>[] = [];

const gated = (env: Record<string, string>) =>
  spawnSluice(['run', 'test/observe/gatedJob.ts', '--database-url', db], env);

try {
  // Finished jobs first: one done, one failed with dead letters, one paused part-way.
  await runSluice(['run', 'test/observe/gatedJob.ts', '--database-url', db], {
    JOB_NAME: 'enrich-customers',
    ITEMS: '1200',
    CHUNK: '50',
  });
  await runSluice(['run', 'test/fixtures/dlqJob.ts', '--database-url', db], {
    JOB_NAME: 'reindex-products',
    ITEMS: '400',
    CHUNK: '40',
    POISON: '17,203,388',
    PERMANENT: '42,77,311',
    NOT_RETRYABLE: '150',
  });
  const paused = gated({
    JOB_NAME: 'export-invoices',
    ITEMS: '5000',
    CHUNK: '50',
    PAUSE_MS: '200',
  });
  children.push(paused);
  await sleep(2500);
  await runSluice(['pause', 'export-invoices', '--database-url', db]);
  await finished(paused);

  // The job the pages show: running, with a few failures, held at a gate two thirds in.
  children.push(
    gated({
      JOB_NAME: 'nightly-orders-backfill',
      ITEMS: '8000',
      CHUNK: '40',
      PAUSE_MS: '400',
      FAIL_EVERY: '211',
      OPEN_AFTER: '7000',
      GATE_FILE: join(dir, 'never'),
    }),
  );
  await sleep(1500);
  const dashboard = spawnSluice(['dashboard', '--port', '0', '--database-url', db]);
  children.push(dashboard);
  let out = '';
  dashboard.stdout?.on('data', (chunk) => {
    out += chunk;
  });
  await waitFor(async () => /Dashboard at/.test(out), 30_000);
  const base = (/http:\/\/\S+?:\d+\//.exec(out) as RegExpExecArray)[0];

  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    ...chromiumOptions,
    viewport: { width: 1280, height: 720 },
    deviceScaleFactor: 1,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  // Watch the running job long enough for a rate and a few points of throughput.
  await page.goto(`${base}jobs/nightly-orders-backfill`);
  await sleep(Number(process.env.WATCH_MS ?? 15_000));
  await page.screenshot({ path: 'docs/dashboard-job.png', fullPage: true });
  await page.goto(base);
  await sleep(1500);
  await page.screenshot({ path: 'docs/dashboard-jobs.png' });
  await context.close();
  await writeFile(join(dir, 'never'), 'open');
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(children.map((child) => (child.exitCode === null ? finished(child) : null)));
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end();
  await rm(dir, { recursive: true, force: true });
}
