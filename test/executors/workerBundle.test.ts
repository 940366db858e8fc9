import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { finished, spawnSluice } from '../support/cli.ts';
import { createTestDatabase } from '../support/db.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let scratch: string;

beforeAll(async () => {
  db = await createTestDatabase();
  scratch = await mkdtemp(join(tmpdir(), 'sluice-bundle-test-'));
});

afterAll(async () => {
  await db.drop();
  await rm(scratch, { recursive: true, force: true });
});

async function run(module: string, executor: string, name: string) {
  // Workers' temporary files go to a folder of the test's own, to see that none is left behind.
  const child = spawnSluice(
    ['run', module, '--database-url', db.url, '--json', '--executor', executor],
    { JOB_NAME: name, TMPDIR: scratch },
  );
  const result = await finished(child);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) as string).result;
}

const sibling = 'the sibling file, read through import.meta.url';

for (const executor of ['thread:2', 'process:2', 'process:0']) {
  test(`${executor} workers start from one bundled file; the job keeps its own import.meta`, async () => {
    const result = await run('test/fixtures/bundledJob.ts', executor, `bundled-${executor}`);
    expect(result.sum).toBe(820);
    expect(result.moduleFiles).toEqual(['bundledJob.ts']);
    expect(result.siblings).toEqual([sibling]);
    expect(result.helpers).toEqual(['fixtures/function']);
    // A thread's argv is its process's; a child process names the file it started from.
    if (executor.startsWith('process')) expect(result.boots).toEqual(['bundleBoot.mjs']);
    expect((await readdir(scratch)).filter((f) => f.startsWith('sluice-worker-'))).toEqual([]);
  });
}

for (const fixture of ['unbundledJob', 'computedImportJob']) {
  test(`${fixture}: a module the bundler cannot follow falls back to tsx and runs the same`, async () => {
    const result = await run(`test/fixtures/${fixture}.ts`, 'process:2', fixture);
    expect(result.sum).toBe(820);
    expect(result.boots).toEqual(['boot.mjs']);
    expect(result.moduleFiles).toEqual(['bundledJob.ts']);
    expect(result.siblings).toEqual([sibling]);
    expect(result.helpers).toEqual(['fixtures/function']);
  });
}

// Last in this file: the tests above expect no folder left at all.
test('a run removes the folders of runs whose process is gone, and keeps the others', async () => {
  const gone = spawnSync(process.execPath, ['-e', '0']).pid;
  await mkdir(join(scratch, `sluice-worker-${gone}-killed`));
  await mkdir(join(scratch, `sluice-worker-${process.pid}-running`));
  await run('test/fixtures/bundledJob.ts', 'thread:1', 'orphans');
  const left = (await readdir(scratch)).filter((f) => f.startsWith('sluice-worker-'));
  expect(left).toEqual([`sluice-worker-${process.pid}-running`]);
});
