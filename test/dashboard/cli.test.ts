// `sluice dashboard` as a user starts it: it refuses a public address without a token, serves on
// the port it prints, checks the token from the environment, and stops cleanly on SIGTERM.
import { expect, test } from 'vitest';
import { finished, runSluice, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';
import { request } from './support.ts';

const db = useTestDatabase({ max: 1 });

test('any address but loopback needs a token: one line, exit 2', async () => {
  const run = await runSluice(['dashboard', '--host', '0.0.0.0', '--database-url', db.url]);
  expect(run.code).toBe(2);
  expect(run.stderr.trim().split('\n')).toEqual([
    'sluice: Binding the dashboard to `0.0.0.0` needs --token (or SLUICE_DASHBOARD_TOKEN); without one it binds 127.0.0.1 only',
  ]);
});

/** Starts the dashboard on a free port; resolves with its URL and the running child. */
async function start(args: string[], env: Record<string, string> = {}) {
  const child = spawnSluice(['dashboard', '--port', '0', ...args, '--database-url', db.url], env);
  const result = finished(child);
  let stdout = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  await waitFor(async () => /Dashboard at/.test(stdout), 30_000);
  const url = (/http:\/\/\S+?:\d+\//.exec(stdout) as RegExpExecArray)[0];
  return { child, result, url, stdout: () => stdout };
}

test('serves on the port it prints, shows a job started later, and SIGTERM stops it with exit 0', async () => {
  const { child, result, url } = await start([]);
  const list = await request(url);
  expect(list.status).toBe(200);
  expect(list.body).toContain('No jobs yet');
  // Loopback without a token answers only loopback names.
  expect((await request(url, { headers: { host: 'evil.example' } })).status).toBe(403);
  // A job started after the dashboard, on a database that had no schema `sluice`, still shows.
  const run = await runSluice(['run', 'test/fixtures/dlqJob.ts', '--database-url', db.url], {
    JOB_NAME: 'later',
  });
  expect(run.code, run.stderr).toBe(0);
  await waitFor(async () => (await request(url)).body.includes('>later</a>'), 15_000);
  child.kill('SIGTERM');
  const end = await result;
  expect([end.code, end.stderr]).toEqual([0, '']);
});

test('on 0.0.0.0 with SLUICE_DASHBOARD_TOKEN, a request without it gets 401', async () => {
  const token = 'a-long-random-dashboard-token';
  const { child, result, url, stdout } = await start(['--host', '0.0.0.0', '--read-only'], {
    SLUICE_DASHBOARD_TOKEN: token,
  });
  expect(stdout()).not.toContain(token);
  expect((await request(url)).status).toBe(401);
  const ok = await request(url, { headers: { 'x-sluice-token': token } });
  expect(ok.status).toBe(200);
  expect(ok.body).toContain('read-only');
  child.kill('SIGTERM');
  expect((await result).code).toBe(0);
});
