import { type AddressInfo, createServer, type Socket } from 'node:net';
import { beforeAll, describe, expect, test } from 'vitest';
import { reachDeadlineMs } from '../../src/store/connect.ts';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });

beforeAll(async () => {
  await db.sql`create table items (id bigint primary key, note text)`;
  await db.sql`insert into items select g, 'x' from generate_series(1, 50) g`;
  await db.sql`create table unindexed (id bigint not null, note text)`;
  await db.sql`create table nullable (id bigint, note text)`;
  await db.sql`create index on nullable (id)`;
  await db.sql`insert into nullable values (1, 'a'), (null, 'b')`;
  await db.sql`create table coded (code text primary key)`;
});

// The refusals run a few at a time (describe.concurrent): each is a CLI process that mostly waits.
// None writes anything, which each checks; the one test that runs a job comes last, alone.

/** Runs the CLI and checks the contract for bad input: exit 2, one line on stderr, nothing on stdout. */
async function refused(args: string[], env: Record<string, string> = {}) {
  const run = await runSluice(args, env);
  expect(run.code, run.stderr).toBe(2);
  const lines = run.stderr.trim().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^sluice: /);
  expect(run.stdout).toBe('');
  return lines[0] as string;
}

async function jobRows(): Promise<number> {
  const [found] = await db.sql`select to_regclass('sluice.jobs') as t`;
  if (!found?.t) return 0;
  const [row] = await db.sql`select count(*)::int as n from sluice.jobs`;
  return row?.n ?? 0;
}

describe.concurrent('tableRanges refusals change nothing', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['a missing table', { TABLE: 'nope' }, /table `nope` does not exist/i],
    ['a missing key column', { KEY: 'nope' }, /column `nope`.*items/i],
    [
      'a key without a btree index',
      { TABLE: 'unindexed' },
      /index.*create index on "?unindexed"? \(/i,
    ],
    ['a key with NULLs', { TABLE: 'nullable' }, /NULL/],
    ['a key that is not an integer', { TABLE: 'coded', KEY: 'code' }, /integer/i],
    [
      'a where naming an unknown column',
      { WHERE: 'nosuch > 0' },
      /^sluice: The `where` of tableRanges\(items\.id\) failed: column "nosuch" does not exist$/,
    ],
    [
      'a where with a syntax error',
      { WHERE: 'note = ' },
      /^sluice: The `where` of tableRanges\(items\.id\) failed: syntax error at or near "\)"$/,
    ],
    [
      'rowsPerRange < 1',
      { ROWS_PER_RANGE: '0' },
      /Expected `rowsPerRange` to be a whole number >= 1, got `0` \(number\)/,
    ],
  ];
  for (const [name, env, message] of cases) {
    test(name, async () => {
      const line = await refused(
        ['run', 'test/fixtures/rangesJob.ts', '--database-url', db.url],
        env,
      );
      expect(line).toMatch(message);
      expect(await jobRows()).toBe(0);
    });
  }
});

describe.concurrent('bad command lines', () => {
  test('an unknown command names the nearest one, or else them all', async () => {
    expect(await refused(['stauts'])).toBe(
      'sluice: Unknown command `stauts`; did you mean `status`?',
    );
    expect(await refused(['dlq', 'lsit', 'some-job'])).toBe(
      'sluice: Expected a dlq subcommand (list, show, purge, replay), got `lsit`; did you mean `list`?',
    );
    expect(await refused(['frobnicate'])).toBe(
      'sluice: Unknown command `frobnicate`; expected one of: run, worker, wait, status, retry, pause, resume, cancel, dlq, dashboard, prune',
    );
  });
  test('an unknown option names the nearest one of its command, or else its help', async () => {
    expect(await refused(['run', 'examples/orders-report.ts', '--max-paralelism', '3'])).toBe(
      'sluice: Unknown option `--max-paralelism`; did you mean `--max-parallelism`?',
    );
    expect(await refused(['worker', '--al'])).toBe(
      'sluice: Unknown option `--al`; did you mean `--all`?',
    );
    // A flag of another command is not this command's.
    expect(await refused(['status', '--max-parallelism', '3'])).toBe(
      'sluice: Unknown option `--max-parallelism`; `sluice status --help` lists the options',
    );
  });
  test('a flag without its value, and an argument too many', async () => {
    expect(await refused(['run', 'examples/orders-report.ts', '--grace'])).toBe(
      'sluice: Expected a value after `--grace <seconds>`; usage: sluice run [options] <job.ts>',
    );
    expect(await refused(['run', 'examples/orders-report.ts', 'extra.ts'])).toBe(
      'sluice: Unexpected argument `extra.ts`; usage: sluice run [options] <job.ts>',
    );
  });
  test('a missing job module argument', async () => {
    expect(await refused(['run'])).toContain('Missing the job module');
  });
  test('a job module that does not exist', async () => {
    expect(await refused(['run', 'examples/nope.ts'])).toContain(
      'Cannot find job module `examples/nope.ts`',
    );
  });
  test('a module that does not default-export a job', async () => {
    expect(await refused(['run', 'test/fixtures/notAJob.ts'])).toMatch(/default-export defineJob/);
  });
  test('a cap of zero or above 10,000, on the command line and in the job', async () => {
    const flag = await refused(['run', 'test/fixtures/rangesJob.ts', '--max-parallelism', '0']);
    expect(flag).toContain(
      'Expected `--max-parallelism` to be a whole number from 1 to 10000, got `"0"` (string)',
    );
    const huge = await refused(['run', 'test/fixtures/rangesJob.ts', '--max-parallelism', '10001']);
    expect(huge).toContain('to be a whole number from 1 to 10000, got `"10001"` (string)');
    const option = await refused(['run', 'test/fixtures/tracedJob.ts', '--database-url', db.url], {
      CAP: '0',
    });
    expect(option).toContain(
      'Expected `maxParallelism` to be a whole number from 1 to 10000, got `0` (number)',
    );
    expect(await jobRows()).toBe(0);
  });
  test('an unreachable database, without showing its password', async () => {
    const url = 'postgres://someone:hunter2secret@127.0.0.1:1/nowhere';
    const line = await refused(['run', 'test/fixtures/rangesJob.ts', '--database-url', url]);
    expect(line).toContain(
      'Cannot reach the database at postgres://someone:***@127.0.0.1:1/nowhere',
    );
    expect(line).not.toContain('hunter2secret');
  });
});

describe.concurrent('bad database URLs: one line naming where the URL came from, its password hidden', () => {
  const cases: [string, string, string][] = [
    [
      'a port that is not a number',
      'postgres://u:S3cr3tPw@127.0.0.1:notaport/db',
      'is not a valid URL (check its host and port): postgres://u:***@127.0.0.1:notaport/db',
    ],
    [
      'a bad percent escape in the password',
      'postgres://u:S3cr%tPw@127.0.0.1/db',
      'has a bad percent escape: postgres://u:***@127.0.0.1/db; write a literal % in a password as %25',
    ],
  ];
  for (const [name, url, message] of cases) {
    test(name, async () => {
      const tries: [string, string[], Record<string, string>][] = [
        ['`--database-url`', ['--database-url', url], {}],
        ['`DATABASE_URL`', [], { DATABASE_URL: url }],
        // With a good state store, the bad source URL must still be refused before the store opens.
        ['`--database-url`', ['--database-url', url, '--state-url', db.url], {}],
        ['`--state-url`', ['--database-url', db.url, '--state-url', url], {}],
        ['`SLUICE_STATE_URL`', ['--database-url', db.url], { SLUICE_STATE_URL: url }],
      ];
      const lines = await Promise.all(
        tries.map(([, args, env]) => refused(['run', 'test/fixtures/rangesJob.ts', ...args], env)),
      );
      expect(lines).toEqual(tries.map(([origin]) => `sluice: ${origin} ${message}`));
      expect(await jobRows()).toBe(0);
    });
  }

  test('a URL that reaches a server that is not PostgreSQL is refused within the deadline', async () => {
    const garbage = await notPostgres('garbage');
    const silent = await notPostgres('silent');
    try {
      const started = Date.now();
      const [asState, asSource] = await Promise.all([
        // State and source alike: the store's first query meets a server that hangs up every time.
        refused(['run', 'test/fixtures/rangesJob.ts', '--database-url', garbage.url]),
        // A good state store and a source that accepts and never answers: planning must not wait.
        refused([
          ...['run', 'test/fixtures/rangesJob.ts', '--database-url', silent.url],
          ...['--state-url', db.url],
        ]),
      ]);
      // Refused, not hung: the deadline plus generous room for two CLI start-ups on a loaded machine.
      expect(Date.now() - started).toBeLessThan(reachDeadlineMs + 30_000);
      const shown = (url: string) => url.replace('hunter2secret', '***');
      expect(asState).toBe(
        `sluice: Cannot reach the database at ${shown(garbage.url)}: no PostgreSQL answer within 15 s; is it a PostgreSQL server?`,
      );
      expect(asSource).toContain(`sluice: Cannot reach the database at ${shown(silent.url)}: `);
      expect(`${asState} ${asSource}`).not.toContain('hunter2secret');
      expect(await jobRows()).toBe(0);
    } finally {
      garbage.close();
      silent.close();
    }
  });
});

/** A local TCP server that is not PostgreSQL: it answers like a web server and hangs up, or says nothing. */
async function notPostgres(
  behaviour: 'garbage' | 'silent',
): Promise<{ url: string; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    if (behaviour === 'garbage') socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return {
    url: `postgres://someone:hunter2secret@127.0.0.1:${port}/db`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe.concurrent('limits are checked before anything is planned', () => {
  const cases: [string, Record<string, string>, string][] = [
    [
      'a zero rate',
      { PER_SECOND: '0' },
      'Expected `rateLimit.perSecond` to be a number > 0, got `0` (number)',
    ],
    ['a negative pace', { PACE_MS: '-5' }, 'Expected `pacing.minIntervalMs`'],
    [
      'start above max',
      { START: '9', MAX: '3' },
      'Expected `maxParallelism.start` to be <= maxParallelism.max (3), got `9` (number)',
    ],
    [
      'a cost that is NaN',
      { PER_MINUTE: '1000', COST: 'nan' },
      'Expected `rateLimit.cost` to be a number >= 0, got `NaN` (number)',
    ],
    [
      'a negative cost',
      { PER_MINUTE: '1000', COST: 'negative' },
      'Expected `rateLimit.cost` to be a number >= 0, got `-1` (number)',
    ],
  ];
  for (const [name, env, message] of cases) {
    test(name, async () => {
      const line = await refused(
        ['run', 'test/fixtures/limitsJob.ts', '--database-url', db.url],
        env,
      );
      expect(line).toContain(message);
      expect(await jobRows()).toBe(0);
    });
  }
});

test('--rate-limit overrides the job’s rate limit', async () => {
  const started = Date.now();
  const run = await runSluice(
    [
      'run',
      'test/fixtures/limitsJob.ts',
      '--database-url',
      db.url,
      '--rate-limit',
      '2/s',
      '--json',
    ],
    { PER_SECOND: '1000' },
  );
  expect(run.code, run.stderr).toBe(0);
  // Three items at 2 a second are spaced 500 ms apart: at least 1 s from first to last.
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
  expect(summary).toMatchObject({ status: 'done', done: 3 });
  expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  expect(summary.elapsedMs).toBeGreaterThanOrEqual(1000);
});
