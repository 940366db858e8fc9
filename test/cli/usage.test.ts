// Command-line ergonomics that need no database: the version, help on every command that lists
// each flag with its default and an example, and negative numbers that get the number's own
// error rather than the argument parser's.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { expect, test } from 'vitest';
import { buildProgram, everyCommand } from '../../src/cli/program.ts';
import { runSluice } from '../support/cli.ts';

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** `sluice dlq list` for the dlq list command: how a user names it. */
function pathOf(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.slice(1);
}

/** The flags a command's help lists, each with the lines under it (the built-in -h aside). */
function flagsInHelp(help: string): Map<string, string[]> {
  const options = help.split('\nOptions:\n')[1]?.split('\n\n')[0] ?? '';
  const flags = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of options.split('\n')) {
    const term = /^ {2}(--[a-z-]+)/.exec(line);
    if (term?.[1]) {
      current = [];
      flags.set(term[1], current);
    } else if (/^ {6}\S/.test(line)) current?.push(line.trim());
    else current = undefined;
  }
  return flags;
}

test('--version and -v print the version in package.json', async () => {
  for (const flag of ['--version', '-v']) {
    const result = await runSluice([flag]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
    expect(result.stderr).toBe('');
  }
});

test('--help lists every command, one line each, and exits 0', async () => {
  const result = await runSluice(['--help']);
  expect(result.code, result.stderr).toBe(0);
  for (const name of [
    ...['run', 'worker', 'wait', 'status', 'retry', 'pause', 'resume', 'cancel'],
    ...['dashboard', 'prune'],
  ]) {
    expect(result.stdout).toMatch(new RegExp(`\\n {2}${name} \\[options\\]( \\S+)? +[a-z]`));
  }
  expect(result.stdout).toMatch(/\n {2}dlq +the items that failed for good/);
  expect(result.stdout).toContain('Exit codes: 0 done, 1 internal error, 2 bad input');
  // Bare `sluice` is a usage error: the same help, on stderr, exit 2.
  const bare = await runSluice([]);
  expect(bare.code).toBe(2);
  expect(bare.stdout).toBe('');
  expect(bare.stderr).toContain('\nCommands:\n  run [options] <job.ts>');
});

test('--help and -h on a command list every flag with a description, default and example', async () => {
  const expected: Record<string, string[]> = {
    run: [
      ...['--database-url', '--state-url', '--max-parallelism', '--concurrency', '--rate-limit'],
      ...['--pacing', '--executor', '--parallelism', '--func-ram-mb', '--func-cpu', '--out'],
      ...['--rerun', '--resume', '--smoke', '--detach', '--grace', '--reconnect-for'],
      ...['--metrics-port', '--metrics-host', '--json', '--log-format'],
    ],
    worker: [
      ...['--all', '--exit-when-done', '--once', '--concurrency', '--grace', '--reconnect-for'],
      ...['--metrics-port', '--metrics-host', '--executor'],
      ...[
        '--parallelism',
        '--func-ram-mb',
        '--func-cpu',
        '--database-url',
        '--state-url',
        '--json',
        '--log-format',
      ],
    ],
    status: ['--database-url', '--state-url', '--json', '--watch', '--log-format'],
    'dlq list': ['--limit', '--database-url', '--state-url', '--json', '--log-format'],
    dashboard: [
      ...['--port', '--host', '--token', '--read-only', '--database-url', '--state-url'],
      '--log-format',
    ],
    prune: [
      ...['--finished-before', '--dry-run', '--database-url', '--state-url', '--json'],
      '--log-format',
    ],
  };
  for (const [command, flag] of [
    ['run', '--help'],
    ['worker', '-h'],
    ['status', '--help'],
    ['dlq list', '--help'],
    ['dashboard', '--help'],
    ['prune', '-h'],
  ] as const) {
    const result = await runSluice([...command.split(' '), flag]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(new RegExp(`^Usage: sluice ${command} `));
    const flags = flagsInHelp(result.stdout);
    expect([...flags.keys()]).toEqual(expected[command]);
    for (const [name, lines] of flags) {
      expect(lines, name).toHaveLength(3);
      const [description, byDefault, example] = lines as [string, string, string];
      expect(description, name).toMatch(/^\w/);
      expect(byDefault, name).toMatch(/^default: \S/);
      expect(example, name).toMatch(
        new RegExp(`^example: sluice ${command.split(' ')[0]} .*${name}`),
      );
    }
  }
});

test('every flag of every command has a default and an example that the command accepts', async () => {
  const commands = everyCommand(buildProgram(() => async () => {})).filter(
    (c) => c.parent && c.commands.length === 0,
  );
  expect(commands.map((c) => pathOf(c).join(' '))).toEqual([
    ...['run', 'worker', 'wait', 'status', 'retry', 'pause', 'resume', 'cancel'],
    ...['dlq list', 'dlq show', 'dlq purge', 'dlq replay', 'dashboard', 'prune'],
  ]);
  for (const command of commands) {
    const path = pathOf(command).join(' ');
    expect(command.options.length, path).toBeGreaterThan(0);
    for (const option of command.options) {
      const lines = option.description.split('\n');
      expect(lines, `${path} ${option.long}`).toHaveLength(3);
      // Each fits on one line of an 80-column terminal, under the flag (6 columns in).
      for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(74);
      expect(lines[1]).toMatch(/^default: \S/);
      const example = (lines[2] as string).replace(/^example: sluice /, '');
      // The example parses as typed: the command is called with the flag set.
      let values: Record<string, unknown> | undefined;
      const program = buildProgram(() => async (...args: unknown[]) => {
        values = args.at(-2) as Record<string, unknown>;
      });
      await program.parseAsync(example.split(' '), { from: 'user' });
      expect(values?.[option.attributeName()], `${path} ${option.long}: ${example}`).toBeDefined();
    }
  }
});

test('a negative number after a flag is that flag’s bad value, not an ambiguous option', async () => {
  for (const [args, line] of [
    [
      ['run', 'examples/orders-report.ts', '--max-parallelism', '-3'],
      'sluice: Expected `--max-parallelism` to be a whole number from 1 to 10000, got `"-3"` (string)',
    ],
    [
      ['run', 'examples/orders-report.ts', '--grace', '-1'],
      'sluice: Expected `--grace` to be a whole number >= 0, got `"-1"` (string)',
    ],
    [
      ['run', 'examples/orders-report.ts', '--parallelism', '-1'],
      'sluice: Expected `--parallelism` to be a whole number >= 0, got `"-1"` (string)',
    ],
  ] as const) {
    const result = await runSluice([...args]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(line);
  }
});
