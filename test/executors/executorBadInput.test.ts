import { describe, expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });

async function jobRows(): Promise<number> {
  const [found] = await db.sql`select to_regclass('sluice.jobs') as t`;
  if (!found?.t) return 0;
  const [row] = await db.sql`select count(*)::int as n from sluice.jobs`;
  return row?.n ?? 0;
}

const job = 'test/fixtures/executorJob.ts';

/** Exit 2, nothing on stdout, and no job row; returns stderr's lines. */
async function refused(args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const run = await runSluice(['run', ...args, '--database-url', db.url], env);
  expect(run.code, run.stderr).toBe(2);
  expect(run.stdout).toBe('');
  expect(await jobRows()).toBe(0);
  const lines = run.stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^sluice: /);
  return lines;
}

describe('bad executor options: one line, exit 2, no job row', () => {
  const cases: [string, string[], Record<string, string>, string][] = [
    [
      'an unknown mode in the job',
      [job],
      { EXECUTOR_MODE: 'turbo' },
      'Expected `executor.mode` to be `sequential`, `async`, `thread`, `process`, got `"turbo"` (string)',
    ],
    [
      'an unknown mode on the command line',
      [job, '--executor', 'turbo'],
      {},
      'Expected `--executor` to be a mode (`sequential`, `async`, `thread`, `process`), optionally with `:N` workers, got `"turbo"` (string)',
    ],
    [
      'parallelism < 0 in the job',
      [job],
      { EXECUTOR_MODE: 'thread', EXECUTOR_PARALLELISM: '-1' },
      'Expected `executor.parallelism` to be a whole number >= 0, got `-1` (number)',
    ],
    [
      'parallelism < 0 on the command line',
      [job, '--executor', 'process', '--parallelism=-1'],
      {},
      'Expected `--parallelism` to be a whole number >= 0, got `"-1"` (string)',
    ],
    [
      'parallelism 0 for threads',
      [job, '--executor', 'thread:0'],
      {},
      'Expected `executor.parallelism` to be >= 1 (0, a process per task, is for `process`), got `0` (number)',
    ],
    [
      'funcRamMb below the minimum in the job',
      [job],
      { EXECUTOR_MODE: 'thread', FUNC_RAM_MB: '16' },
      'Expected `funcRamMb` to be a whole number of MB >= 32, got `16` (number)',
    ],
    [
      'funcRamMb below the minimum on the command line',
      [job, '--executor', 'process:2', '--func-ram-mb', '8'],
      {},
      'Expected `--func-ram-mb` to be a whole number >= 32, got `"8"` (string)',
    ],
    [
      'funcRamMb for tasks that run in process',
      [job, '--executor', 'async', '--func-ram-mb', '64'],
      {},
      'Expected `funcRamMb` to be used with executor mode `thread` or `process`, got `64` (number)',
    ],
    [
      'funcCpu for threads',
      [job, '--executor', 'thread:2', '--func-cpu', '2'],
      {},
      'Expected `funcCpu` to be used with executor mode `process` and parallelism >= 1, got `2` (number)',
    ],
    [
      'a module that does not default-export a job',
      ['test/fixtures/notAJob.ts', '--executor', 'thread:2'],
      {},
      'to default-export defineJob({...}), got `{"name":"not-a-job"}` (object)',
    ],
  ];
  for (const [name, args, env, message] of cases) {
    test(name, async () => {
      const lines = await refused(args, env);
      expect(lines, lines.join('\n')).toHaveLength(1);
      expect(lines[0]).toContain(message);
    });
  }
});

describe('a module that throws on import shows its own place, message and stack', () => {
  test('in the coordinator: `file:line:col: message`, then its own frames', async () => {
    const run = await runSluice([
      'run',
      'test/fixtures/executorThrowsJob.ts',
      '--executor',
      'thread',
      '--database-url',
      db.url,
    ]);
    expect(run.code, run.stderr).toBe(2);
    expect(await jobRows()).toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines[0]).toBe('test/fixtures/executorThrowsJob.ts:5:9: the settings file is missing');
    expect(lines[1]).toMatch(/at connectToSomethingMissing .*executorThrowsJob\.ts:5:/);
  });
  for (const executor of ['thread:2', 'process:2', 'process:0']) {
    test(`only in its ${executor} workers`, async () => {
      const lines = await refused([job, '--executor', executor], { THROW_IN_WORKER: '1' });
      expect(lines[0]).toContain(
        'test/fixtures/executorJob.ts:16:9: this module refuses to load in a worker',
      );
      for (const frame of lines.slice(1)) expect(frame).toMatch(/executorJob\.ts:\d+:\d+/);
    });
  }
});
