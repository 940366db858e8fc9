// The example jobs project runs as its pods run it: the same `sluice` arguments the manifests
// give, from the project folder, with sluice installed in its node_modules (linked to this
// repository's built package) and TMPDIR its own.
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type CliResult, finished } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';
import { podSpecOf, readManifests } from './manifests.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const deployDir = join(root, 'deploy/kubernetes');
const db = useTestDatabase();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-jobs-project-'));
  await cp(join(deployDir, 'project'), dir, { recursive: true });
  await mkdir(join(dir, 'node_modules'));
  await symlink(root, join(dir, 'node_modules/sluice'), 'dir');
  await mkdir(join(dir, 'tmp'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The args of the first container of the manifest object named `name`. */
function argsOf(name: string): string[] {
  const manifest = readManifests(deployDir).find((m) => m.name === name);
  const args = manifest && podSpecOf(manifest)?.containers[0]?.args;
  if (!args) throw new Error(`No manifest \`${name}\` with container args`);
  return args;
}

/** What the image's ENTRYPOINT runs: the project's installed `sluice`, in the project folder. */
function sluice(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [join(dir, 'node_modules/sluice/bin/sluice.js'), ...args], {
    cwd: dir,
    env: {
      ...process.env,
      SLUICE_STATE_URL: undefined,
      DATABASE_URL: db.url,
      TMPDIR: join(dir, 'tmp'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return finished(child);
}

test('the backfill Job: its plan pod plans, its worker pods fill every total', async () => {
  await db.sql`create table orders (id bigint primary key, amount numeric(12, 2) not null,
                                    total_cents bigint)`;
  await db.sql`insert into orders (id, amount)
               select g, (g % 1000) / 10.0 from generate_series(1, 30000) g where g % 7 <> 0`;

  const plan = await sluice(argsOf('backfill-order-totals-plan'));
  expect(plan.code, plan.stderr).toBe(0);
  expect(plan.stdout).toContain('Job backfill-order-totals is planned: 3 ranges, 25,715 rows');
  const [planned] =
    await db.sql`select count(*)::int as n from orders where total_cents is not null`;
  expect(planned?.n).toBe(0);

  const workers = await Promise.all(
    [1, 2].map(() => sluice(argsOf('backfill-order-totals-workers'))),
  );
  for (const worker of workers) expect(worker.code, worker.stderr).toBe(0);
  const [filled] = await db.sql`select count(*) filter (where total_cents is null)::int as missing,
    count(*) filter (where total_cents <> amount * 100)::int as wrong from orders`;
  expect(filled).toEqual({ missing: 0, wrong: 0 });

  const waited = await sluice(['wait', 'backfill-order-totals', '--json']);
  expect(waited.code, waited.stderr).toBe(0);
  expect(JSON.parse(waited.stdout)).toMatchObject({ status: 'done', result: { updated: 25715 } });
  // TypeScript job modules were compiled into TMPDIR, the pods' one writable place.
  expect((await readdir(join(dir, 'tmp'))).some((entry) => entry.startsWith('tsx-'))).toBe(true);
});

test("the CRM sync, run by the worker Deployment's `sluice worker --all`", async () => {
  const calls: { id: string; authorization?: string }[] = [];
  const crm: Server = createServer((request, response) => {
    const id = /^\/customers\/([^/]+)\/sync$/.exec(request.url ?? '')?.[1] ?? '';
    calls.push({ id, authorization: request.headers.authorization });
    response.writeHead(id === '1007' ? 404 : 200).end('{}');
  });
  await new Promise<void>((listening) => crm.listen(0, '127.0.0.1', listening));
  const env = {
    CRM_URL: `http://127.0.0.1:${(crm.address() as AddressInfo).port}`,
    CRM_TOKEN: 'crm-token',
  };
  try {
    const plan = await sluice(['run', 'jobs/sync-customers.ts', '--detach'], env);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('Job sync-customers is planned: 1 chunks, 12 items');

    // The Deployment's own arguments, told to exit once there is nothing left to do.
    const worker = await sluice([...argsOf('acme-jobs-worker'), '--exit-when-done'], env);
    // One customer the CRM does not know: the job finishes, with that one failed (exit 3).
    expect(worker.code, worker.stderr).toBe(3);
    const ids = (await readFile(join(dir, 'data/customer-ids.txt'), 'utf8')).trim().split('\n');
    expect(calls.map((c) => c.id).sort()).toEqual(ids);
    expect(new Set(calls.map((c) => c.authorization))).toEqual(new Set(['Bearer crm-token']));
    const dead = await db.sql`select item_key from sluice.dead_letters`;
    expect(dead.map((row) => row.item_key)).toEqual(['1007']);
  } finally {
    crm.close();
  }
});
