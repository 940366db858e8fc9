import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';

/** The server every test uses: TEST_DATABASE_URL or the embedded one started for this run. */
export function serverUrl(): string {
  return inject('databaseUrl');
}

/**
 * Creates a database of its own for one test file, so files run in parallel without sharing
 * tables or job names. `drop` removes it, ending any connection still open to it.
 */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `sluice_t_${randomBytes(5).toString('hex')}`;
  const admin = postgres(serverUrl(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const sql = postgres(serverUrl(), { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists "${name}" with (force)`);
      await sql.end();
    },
  };
}

/** Sessions on this database, other than the caller's, still running a query: a leak if a test left one. */
export async function busySessions(sql: postgres.Sql): Promise<number> {
  const [busy] = await sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'`;
  return busy?.n ?? 0;
}
