import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
/** A fresh copy of the fixture, inside the repository so that `sluice` resolves, per run. */
async function fixtureCopy(name: string): Promise<string> {
  const path = join('test/fixtures', `.${name}-${process.pid}.ts`);
  await copyFile('test/fixtures/shiftingJob.ts', path);
  return path;
}

async function outcomes(): Promise<number> {
  const [row] = await db.sql`
    select count(*)::int as n from sluice.outcomes o join sluice.jobs j on j.id = o.job_id
    where j.name = 'shifting'`;
  return row?.n ?? 0;
}

describe('a worker that loads another job than the coordinator refuses to run', () => {
  for (const executor of ['thread:1', 'process:1', 'process:0']) {
    test(`another name, --executor ${executor}`, async () => {
      const run = await runSluice(
        ['run', 'test/fixtures/shiftingJob.ts', '--executor', executor, '--rerun'],
        { DATABASE_URL: db.url, SHIFT: 'name' },
      );
      expect(run.code, run.stderr).toBe(2);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toEqual([
        expect.stringMatching(
          /^sluice: Worker refused to run: `.*shiftingJob\.ts` gave job `shifted-in-worker`, not `shifting`; restart the run/,
        ),
      ]);
      expect(await outcomes()).toBe(0);
    });
  }

  test('a module edited after the coordinator loaded it', async () => {
    const path = await fixtureCopy('edited');
    try {
      const run = await runSluice(['run', path, '--executor', 'thread:1', '--rerun'], {
        DATABASE_URL: db.url,
        SHIFT: 'text',
      });
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.trim()).toMatch(
        /^sluice: Worker refused to run: `.*edited.*\.ts` gave job `shifting` from a file whose text changed since the run began/,
      );
      expect(await outcomes()).toBe(0);
    } finally {
      await rm(path, { force: true });
    }
  });
});
