import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, inject } from 'vitest';
import { waitFor } from './cli.ts';

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

/**
 * A database of its own for the calling test file, with a postgres.js pool on it, so that each
 * file does not repeat that setup: registers a beforeAll (create, then connect) and an afterAll
 * (end the pool, then drop). Call it at the top level, before the file's own beforeAll, which can
 * then use the database (after-hooks run in reverse, so the file's own afterAll still sees it).
 * `url` and `sql` are getters because both exist only once the beforeAll has run: read them inside
 * tests and hooks, not at module level.
 */
export function useTestDatabase(options: { max?: number } = {}): {
  readonly url: string;
  readonly sql: postgres.Sql;
} {
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let sql: postgres.Sql | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = postgres(db.url, { max: options.max ?? 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });
  const ready = () => {
    if (!db || !sql)
      throw new Error('useTestDatabase(): url and sql are ready only inside tests and hooks');
    return { url: db.url, sql };
  };
  return {
    get url() {
      return ready().url;
    },
    get sql() {
      return ready().sql;
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

/**
 * Waits until no session of this database is still running a statement like `queryLike` (say a
 * cancelled `pg_sleep`). Only active sessions count: an idle session's `query` is its last one.
 * A closed child's backends may outlive it a moment, hence the wait.
 */
export async function noneRunning(sql: postgres.Sql, queryLike: string): Promise<void> {
  await waitFor(async () => {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and state = 'active' and query like ${queryLike}
        and pid <> pg_backend_pid()`;
    return row?.n === 0;
  }, 5000);
}
