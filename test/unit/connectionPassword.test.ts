// A `?password=` URL authenticates with that password: sluice's pools hand it to postgres.js as
// the password, instead of letting it travel to the server as a startup setting (which the server
// refuses: `unrecognized configuration parameter "password"`).
import { expect, test } from 'vitest';
import { openPool } from '../../src/store/connect.ts';
import { serverUrl } from '../support/db.ts';

/** The test server's URL with its password, if it has one, moved into the query. */
function passwordInQuery(): { url: string; password: string } {
  const url = new URL(serverUrl());
  // A trust server (the local one) takes any password; the embedded one checks this one.
  const password = decodeURIComponent(url.password) || 'secret123';
  url.password = '';
  url.searchParams.set('password', password);
  return { url: url.toString(), password };
}

test('a ?password= URL connects, and no `password` setting reaches the server', async () => {
  const { url, password } = passwordInQuery();
  expect(url).toContain(`password=${encodeURIComponent(password)}`);
  const sql = openPool(url, { max: 1, purpose: 'password-test' });
  try {
    const [row] = await sql<{ setting: string | null; pid: number }[]>`
      select current_setting('password', true) as setting, pg_backend_pid() as pid`;
    expect(row?.setting).toBeNull();
    const [session] = await sql<{ application_name: string }[]>`
      select application_name from pg_stat_activity where pid = ${row?.pid ?? 0}`;
    expect(session?.application_name).toBe(`sluice:password-test:${process.pid}`);
  } finally {
    await sql.end();
  }
});
