// `--log-format json` (or SLUICE_LOG_FORMAT=json): every line sluice writes to stderr is one JSON
// object with time, level, job, event and msg, and stdout stays the summary line.
import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';
import { runInTerminal } from './terminal.ts';

const db = useTestDatabase();
const job = 'test/observe/loggedJob.ts';

interface LogLine {
  time: string;
  level: string;
  job: string | null;
  event: string;
  msg: string;
  [field: string]: unknown;
}

/** Parses every line of stderr, failing on the first that is not a JSON object of the five fields. */
function logLines(stderr: string): LogLine[] {
  const lines = stderr.split('\n').filter((line) => line !== '');
  return lines.map((line) => {
    const parsed = JSON.parse(line) as LogLine;
    expect(parsed, line).toMatchObject({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: expect.stringMatching(/^(debug|info|warn|error)$/),
      event: expect.stringMatching(/^[a-z]+:[a-z]+$/),
      msg: expect.any(String),
    });
    expect(parsed.job === null || typeof parsed.job === 'string', line).toBe(true);
    return parsed;
  });
}

/** What a run of loggedJob.ts logs, whichever way JSON was asked for. */
function expectRunLogged(lines: LogLine[], name: string): void {
  const of = (event: string) => lines.filter((line) => line.event === event);
  expect(of('job:planned')).toEqual([
    expect.objectContaining({ job: name, level: 'info', tasks: 4, items: 12 }),
  ]);
  // Four chunks log once each, and the retried one again on its second attempt.
  const logs = of('task:log');
  expect(logs.map((line) => line.msg).sort()).toEqual(
    [1, 4, 7, 10]
      .map((n) => `chunk from ${n}, attempt 1`)
      .concat('chunk from 7, attempt 2')
      .sort(),
  );
  expect(logs.every((line) => line.job === name && typeof line.task === 'number')).toBe(true);
  expect(of('task:retrying')).toEqual([
    expect.objectContaining({ level: 'warn', attempt: 1, error: 'chunk with 7 hiccuped' }),
  ]);
  const [failed, ...more] = of('task:failed');
  expect(more).toEqual([]);
  expect(failed).toMatchObject({ job: name, level: 'error', attempt: 1 });
  expect(failed?.error).toBe('chunk with 10 cannot reach postgres://app:***@db.internal/shop');
  expect(of('job:alert')).toEqual([
    expect.objectContaining({ job: name, level: 'warn', action: 'warn' }),
  ]);
  // onAlert threw: sluice's process warning is a JSON line too, not Node's `(node:…) Warning:`.
  expect(of('process:warning')).toEqual([
    expect.objectContaining({ job: null, msg: 'sluice: onAlert threw: the pager is down' }),
  ]);
  expect(of('job:progress').length).toBeGreaterThanOrEqual(1);
  expect(of('job:progress')[0]).toMatchObject({ job: name, totalTasks: 4, totalItems: 12 });
  expect(of('job:done')).toEqual([
    expect.objectContaining({ job: name, status: 'failed', done: 8, failed: 4 }),
  ]);
}

test('--log-format json: every stderr line is a JSON object, with the run events; stdout ends with the summary line', async () => {
  const run = await runSluice(['run', job, '--database-url', db.url, '--log-format', 'json'], {
    JOB_NAME: 'logged-flag',
  });
  expect(run.code, run.stderr).toBe(3);
  expect(run.stderr).not.toContain('\x1b');
  expect(run.stderr).not.toContain('\r');
  expect(run.stderr).not.toContain('hunter2');
  expectRunLogged(logLines(run.stderr), 'logged-flag');
  expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(
    /^Batch complete: 8\/12 items, 4 failed \(33\.3%\), \d+\.\ds, \d+ items\/sec$/,
  );
});

test('SLUICE_LOG_FORMAT=json does the same; --json output on stdout is unchanged', async () => {
  const run = await runSluice(['run', job, '--database-url', db.url, '--json'], {
    JOB_NAME: 'logged-env',
    SLUICE_LOG_FORMAT: 'json',
  });
  expect(run.code, run.stderr).toBe(3);
  expectRunLogged(logLines(run.stderr), 'logged-env');
  const stdout = run.stdout.trimEnd().split('\n');
  // The item outcomes stream, then the summary object.
  expect(JSON.parse(stdout.at(-1) as string)).toMatchObject({ job: 'logged-env', done: 8 });
  expect(stdout.slice(0, -1).map((line) => JSON.parse(line).ok)).toHaveLength(12);
});

test('on a terminal, --log-format json draws no bar: each line is JSON or the summary', async () => {
  const terminal = runInTerminal(
    ['run', job, '--database-url', db.url, '--log-format', 'json'],
    80,
    { JOB_NAME: 'logged-tty', PAUSE_MS: '300' },
  );
  expect(await terminal.exited).toBe(3);
  const output = terminal.output();
  // The terminal ends each line with \r\n; a bar would redraw with a lone \r and erase with ESC.
  expect(output).not.toContain('\x1b');
  expect(output.replaceAll('\r\n', '\n')).not.toContain('\r');
  const lines = output.split('\r\n').filter((line) => line !== '');
  const summary = lines.filter((line) => line.startsWith('Batch complete: 8/12 items'));
  expect(summary).toHaveLength(1);
  expectRunLogged(
    logLines(lines.filter((line) => !summary.includes(line)).join('\n')),
    'logged-tty',
  );
});

test('bad input in json mode is one JSON line and exit 2; a bad --log-format is one text line', async () => {
  const bad = await runSluice(
    ['run', job, '--database-url', db.url, '--max-parallelism', '0', '--log-format=json'],
    { JOB_NAME: 'logged-bad' },
  );
  expect(bad.code).toBe(2);
  expect(bad.stdout).toBe('');
  const [line, ...rest] = logLines(bad.stderr);
  expect(rest).toEqual([]);
  expect(line).toMatchObject({ level: 'error', job: null, event: 'cli:error', exitCode: 2 });
  expect(line?.msg).toMatch(/^sluice: .*max-parallelism/);

  // An unknown option is commander's error, reported by sluice in the format asked for.
  const unknown = await runSluice(['status', '--bogus'], { SLUICE_LOG_FORMAT: 'json' });
  expect(unknown.code).toBe(2);
  expect(logLines(unknown.stderr)).toEqual([
    expect.objectContaining({ event: 'cli:error', msg: expect.stringContaining('--bogus') }),
  ]);

  for (const [args, env, named] of [
    [['status', '--log-format', 'yaml'], {}, '--log-format'],
    [['status'], { SLUICE_LOG_FORMAT: 'xml' }, 'SLUICE_LOG_FORMAT'],
  ] as const) {
    const wrong = await runSluice([...args, '--database-url', db.url], env);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe(
      `sluice: Expected \`${named}\` to be \`text\` or \`json\`, got \`${named === '--log-format' ? 'yaml' : 'xml'}\`\n`,
    );
  }
});

test('every command takes --log-format, and its help says so', async () => {
  for (const command of ['run', 'worker', 'wait', 'status', 'retry', 'pause', 'dlq list']) {
    const help = await runSluice([...command.split(' '), '--help']);
    expect(help.code, command).toBe(0);
    expect(help.stdout, command).toContain('--log-format <text|json>');
  }
  const status = await runSluice(['status', '--database-url', db.url, '--log-format', 'json']);
  expect(status.code, status.stderr).toBe(0);
  expect(status.stderr).toBe('');
});
