// A password a job puts in its own errors or log lines is hidden wherever sluice shows or keeps
// them: stderr, stdout, the --out manifest, and the tables behind `sluice dlq` and `status`.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-secrets-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every text column sluice keeps for the job, as one string. */
async function stored(name: string): Promise<string> {
  const rows = await db.sql`
    select (select coalesce(json_agg(t), '[]') from sluice.tasks t where t.job_id = j.id)::text as tasks,
      (select coalesce(json_agg(o), '[]') from sluice.outcomes o where o.job_id = j.id)::text as outcomes,
      (select coalesce(json_agg(d), '[]') from sluice.dead_letters d where d.job_id = j.id)::text as letters
    from sluice.jobs j where j.name = ${name}`;
  return JSON.stringify(rows);
}

for (const mode of ['each', 'run']) {
  test(`${mode}: the password never appears, and the rest of the URL does`, async () => {
    const out = join(dir, `${mode}.jsonl`);
    const name = `secret-${mode}`;
    const run = await runSluice(
      ['run', 'test/fixtures/secretJob.ts', '--database-url', db.url, '--out', out],
      { MODE: mode, JOB_NAME: name },
    );
    expect(run.code, run.stderr).toBe(3);
    const dlq = await runSluice(['dlq', 'list', name, '--database-url', db.url, '--json']);
    const everything = [run.stdout, run.stderr, await readFile(out, 'utf8'), dlq.stdout];
    everything.push(await stored(name));
    for (const text of everything) expect(text).not.toContain('topsecret-pw');
    expect(everything.join('\n')).toContain('postgres://app:***@db.internal:5432/shop');
    expect(run.stderr).toContain('postgres://app:***@db.internal:5432/shop');
  });
}
