// Command-line ergonomics that need no database: help on every command, and negative numbers
// that get the number's own error rather than the argument parser's.
import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';

test('--help and -h on a command print its usage and exit 0', async () => {
  for (const [command, flag] of [
    ['run', '--help'],
    ['worker', '-h'],
    ['dlq', '--help'],
    ['status', '--help'],
  ] as const) {
    const result = await runSluice([command, flag]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^usage: sluice ${command} `));
    expect(result.stderr).toBe('');
  }
});

test('a negative number after a flag is that flag’s bad value, not an ambiguous option', async () => {
  for (const [args, line] of [
    [
      ['run', 'examples/orders-report.ts', '--max-parallelism', '-3'],
      'sluice: Expected `--max-parallelism` to be a whole number >= 1, got `"-3"` (string)',
    ],
    [
      ['run', 'examples/orders-report.ts', '--grace', '-1'],
      'sluice: Expected `--grace` to be a whole number >= 0, got `"-1"` (string)',
    ],
  ] as const) {
    const result = await runSluice([...args]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(line);
  }
});
