// A password is hidden wherever sluice shows or keeps it: a password a job puts in its own errors
// or log lines (stderr, stdout, the --out manifest, the tables behind `sluice dlq` and `status`),
// and the password of a connection string in every form it can take.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-secrets-'));
  await db.sql`create table items (id bigint primary key)`;
  await db.sql`insert into items select generate_series(1, 30)`;
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

/** Every place `secret123` may sit in a connection string to `host/db` as `user`. */
function passwordForms(user: string, hostAndDb: string): [string, string][] {
  return [
    ['user:pass@', `postgres://${user}:secret123@${hostAndDb}`],
    ['?password=', `postgres://${user}@${hostAndDb}?password=secret123`],
    ['&password=', `postgres://${user}@${hostAndDb}?sslmode=disable&password=secret123`],
    ['?sslpassword=', `postgres://${user}@${hostAndDb}?sslpassword=secret123`],
    ['no scheme', `${user}:secret123@${hostAndDb}`],
  ];
}

describe('connection passwords never appear in output', () => {
  // Each form against an unreachable port, and against the test server with a missing database.
  const cases = () => {
    const server = new URL(db.url);
    const targets: [string, string, string][] = [
      ['an unreachable host', 'someone', '127.0.0.1:1/nowhere'],
      ['a missing database', server.username, `${server.host}/sluice_no_such_db`],
    ];
    return targets.flatMap(([target, user, hostAndDb]) =>
      passwordForms(user, hostAndDb).map(([form, url]) => ({ what: `${form}, ${target}`, url })),
    );
  };
  const commands: [string, (url: string) => [string[], Record<string, string>]][] = [
    ['run', (url) => [['run', 'test/fixtures/rangesJob.ts', '--database-url', url], {}]],
    ['status', (url) => [['status'], { DATABASE_URL: url }]],
    // A good state store, so the bad URL is the source's, met when the job is planned.
    [
      'run with a state store',
      (url) => [
        ['run', 'test/fixtures/rangesJob.ts', '--database-url', url, '--state-url', db.url],
        {},
      ],
    ],
  ];
  test.each(commands)(
    'sluice %s: exit 2, and the rest of the URL still shows',
    async (_, command) => {
      const all = cases();
      const runs = await Promise.all(all.map(({ url }) => runSluice(...command(url))));
      for (const [i, run] of runs.entries()) {
        const what = all[i]?.what;
        expect(run.code, `${what}: ${run.stderr}`).toBe(2);
        expect(`${run.stdout}${run.stderr}`, what).not.toContain('secret123');
        expect(run.stderr, what).toMatch(/:\*\*\*@|password=\*\*\*/);
      }
    },
  );
});

test('a ?password= URL works against a real server', async () => {
  const url = new URL(db.url);
  // A trust server (the local one) takes any password; the embedded one checks this one.
  url.searchParams.set('password', decodeURIComponent(url.password) || 'secret123');
  url.password = '';
  const run = await runSluice(
    ['run', 'test/fixtures/rangesJob.ts', '--database-url', url.toString()],
    {
      JOB_NAME: 'password-in-query',
    },
  );
  expect(run.code, run.stderr).toBe(0);
  const [job] = await db.sql`select status from sluice.jobs where name = 'password-in-query'`;
  expect(job?.status, `${run.stdout}${run.stderr}`).toBe('done');
});

/**
 * A server speaking just enough of the PostgreSQL protocol to ask for a cleartext password. It
 * records what each client sent: its startup settings, and the password it answered with. Then
 * it refuses the login, as a server refuses a wrong password.
 */
async function passwordObserver() {
  const logins: { settings: Record<string, string>; password?: string }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    let login: (typeof logins)[number] | undefined;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!login) {
        if (buffer.length < 4 || buffer.length < buffer.readInt32BE(0)) return;
        const fields = buffer
          .subarray(8, buffer.readInt32BE(0) - 1)
          .toString()
          .split('\0');
        const settings: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2)
          settings[fields[i] as string] = fields[i + 1] as string;
        login = { settings };
        logins.push(login);
        buffer = buffer.subarray(buffer.readInt32BE(0));
        // AuthenticationCleartextPassword.
        socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
        return;
      }
      if (buffer.length < 5 || buffer.length < 1 + buffer.readInt32BE(1)) return;
      login.password = buffer.subarray(5, buffer.readInt32BE(1)).toString().replace(/\0$/, '');
      const fields = [
        'SFATAL',
        'VFATAL',
        'C28P01',
        'Mpassword authentication failed for user "someone"',
      ];
      const body = Buffer.from(`${fields.join('\0')}\0\0`);
      const header = Buffer.alloc(5);
      header.write('E');
      header.writeInt32BE(body.length + 4, 1);
      socket.end(Buffer.concat([header, body]));
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return {
    port: (server.address() as AddressInfo).port,
    logins,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

test('?password= travels as the password, never as a startup setting', async () => {
  const observer = await passwordObserver();
  try {
    const url = `postgres://someone@127.0.0.1:${observer.port}/shop?application_name=x&password=secret123`;
    const run = await runSluice(['run', 'test/fixtures/rangesJob.ts', '--database-url', url]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toBe(
      `sluice: Cannot reach the database at postgres://someone@127.0.0.1:${observer.port}/shop?application_name=x&password=***: password authentication failed for user "someone"\n`,
    );
    expect(observer.logins.length).toBeGreaterThan(0);
    for (const login of observer.logins) {
      expect(login.password).toBe('secret123');
      expect(login.settings.user).toBe('someone');
      expect(Object.keys(login.settings)).not.toContain('password');
      expect(JSON.stringify(login.settings)).not.toContain('secret123');
    }
  } finally {
    observer.close();
  }
});
