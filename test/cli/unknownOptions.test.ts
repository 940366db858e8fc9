// A misspelt option in a job module stops `sluice run` with exit 2 and one line naming the option
// meant, before the store is opened: the job never runs at a default it did not ask for.
import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });

test.each([
  ['job', 'Unknown option `maxParalelism` in defineJob({...}); did you mean `maxParallelism`?'],
  ['retry', 'Unknown option `retry.atempts` in defineJob({...}); did you mean `retry.attempts`?'],
  ['source', 'Unknown option `rowsPerRage` in tableRanges({...}); did you mean `rowsPerRange`?'],
])('a misspelt %s option: exit 2, one line, nothing written', async (misspelt, message) => {
  const run = await runSluice(['run', 'test/fixtures/misspeltJob.ts', '--database-url', db.url], {
    MISSPELT: misspelt,
  });
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr).toBe(`sluice: ${message}\n`);
  expect(run.stdout).toBe('');
  // Not even the schema: the job is refused before the store is opened.
  const [found] = await db.sql`select to_regnamespace('sluice') as schema`;
  expect(found?.schema).toBeNull();
});
