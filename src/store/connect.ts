import postgres, { type Sql, type TransactionSql } from 'postgres';
import { InputError } from '../errors.ts';
import { redactSecrets } from './redact.ts';

export interface ConnectOptions {
  /** Most connections the pool opens. */
  max: number;
  /** Shown in pg_stat_activity, so an operator can tell sluice's connections apart. */
  purpose: string;
  /** Seconds an unused connection stays open; 0 keeps it. Default 30. */
  idleTimeoutS?: number;
  /** Called with each NOTIFY the pool's connections hear, for a pool that LISTENs itself. */
  onNotify?: (channel: string, payload: string) => void;
}

/**
 * Opens a postgres.js pool. Connections open lazily, on the first query. A URL postgres.js cannot
 * parse is refused as bad input, with its password hidden.
 */
export function openPool(url: string, options: ConnectOptions): Sql {
  try {
    const given = connectionParts(url);
    return postgres(given.url, {
      password: given.password,
      max: options.max,
      onnotice: () => {},
      // postgres.js hands every NOTIFY to this option (its own `listen` is built on it), though
      // its types leave it out.
      ...({ onnotify: options.onNotify } as object),
      idle_timeout: options.idleTimeoutS ?? 30,
      connect_timeout: 10,
      // postgres.js waits up to 20 s between tries to reopen a closed connection; a query sent
      // during an outage would wait as long to fail, and as long to succeed once it is over.
      backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 2),
      connection: { application_name: `sluice:${options.purpose}:${process.pid}` },
    });
  } catch (error) {
    throw invalidUrl(url, 'The database URL', error);
  }
}

/**
 * Refuses a URL postgres.js cannot parse, naming where it came from (`--database-url`,
 * `DATABASE_URL`), before anything is opened or written. It opens no connection.
 */
export function checkDatabaseUrl(url: string, origin: string): void {
  try {
    // postgres.js parses the URL when the pool is made (multi-host URLs included), and connects
    // only on the first query: making one and ending it checks exactly what it will accept.
    const given = connectionParts(url);
    void postgres(given.url, { max: 1, password: given.password }).end();
  } catch (error) {
    throw invalidUrl(url, `\`${origin}\``, error);
  }
}

const schemes = /^postgres(?:ql)?:\/\//i;

/** A connection string that is not a PostgreSQL URL, refused by invalidUrl as bad input. */
class NotPostgresUrl extends Error {}

/**
 * The URL postgres.js is given, and the password it is given apart. postgres.js hands every query
 * parameter it does not know to the server as a startup setting, so `?password=` would reach the
 * server as a setting (which it refuses, `unrecognized configuration parameter "password"`) rather
 * than as the password. It moves into postgres.js's own option, decoded as libpq decodes it (a `+`
 * stays a `+`). `sslpassword`, the passphrase of a client key file, which postgres.js cannot load,
 * is dropped: a secret is never sent as a setting.
 */
export function connectionParts(url: string): { url: string; password?: string } {
  // Without a scheme, `bob:pw@host/db` parses as scheme `bob:` with no host, and postgres.js
  // would quietly connect to localhost as the OS user.
  if (!schemes.test(url)) throw new NotPostgresUrl();
  const queryAt = url.indexOf('?');
  if (queryAt < 0) return { url };
  const fragmentAt = url.indexOf('#', queryAt);
  const end = fragmentAt < 0 ? url.length : fragmentAt;
  let password: string | undefined;
  const kept: string[] = [];
  for (const part of url.slice(queryAt + 1, end).split('&')) {
    const equals = part.indexOf('=');
    const name = decodeURIComponent(equals < 0 ? part : part.slice(0, equals)).toLowerCase();
    if (name === 'password')
      password = equals < 0 ? '' : decodeURIComponent(part.slice(equals + 1));
    else if (name !== 'sslpassword') kept.push(part);
  }
  const query = kept.length > 0 ? `?${kept.join('&')}` : '';
  return { url: `${url.slice(0, queryAt)}${query}${url.slice(end)}`, password };
}

function invalidUrl(url: string, what: string, error: unknown): InputError {
  const shown = redactSecrets(url);
  if (error instanceof NotPostgresUrl) {
    return new InputError(`${what} is not a postgres:// or postgresql:// URL: ${shown}`);
  }
  if (error instanceof URIError) {
    return new InputError(
      `${what} has a bad percent escape: ${shown}; write a literal % in a password as %25`,
    );
  }
  return new InputError(`${what} is not a valid URL (check its host and port): ${shown}`);
}

// PostgreSQL answers 57P03 while it starts up; the embedded server may be doing just that.
const startingUp = new Set(['57P03', 'ECONNREFUSED']);

// postgres.js's connect_timeout (10 s) ends only a connection that never gets ready. A server
// that is not PostgreSQL and closes each connection (an HTTP server answering 400) has the pool
// reconnect forever, so the first query would wait forever. 15 s is past connect_timeout, so a
// server that accepts and stays silent still gets postgres.js's own CONNECT_TIMEOUT first.
export const reachDeadlineMs = 15_000;

/**
 * Runs one query to prove the database is reachable, waiting out a server that is still starting.
 * Throws one clear InputError line, with the password hidden, when it cannot be reached. Past
 * `reachDeadlineMs` (after the wait for a starting server) it ends the pool, whose connection
 * would otherwise go on reconnecting, and gives up.
 */
export async function checkReachable(sql: Sql, url: string, waitMs = 0): Promise<void> {
  const deadline = Date.now() + waitMs;
  const giveUpAt = deadline + reachDeadlineMs;
  for (;;) {
    let answered: boolean;
    try {
      answered = await answersBy(sql, giveUpAt);
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (startingUp.has(code) && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 100));
        continue;
      }
      // A server that says it is shutting down (or that ended the session) is there: that is an
      // outage for a run to wait out, not a wrong URL.
      if (code === '57P03' || code === '57P01') throw error;
      const reason = redactSecrets((error as Error).message || code);
      throw new InputError(`Cannot reach the database at ${redactSecrets(url)}: ${reason}`);
    }
    if (answered) return;
    await sql.end({ timeout: 0 });
    throw new InputError(
      `Cannot reach the database at ${redactSecrets(url)}: no PostgreSQL answer within ${reachDeadlineMs / 1000} s; is it a PostgreSQL server?`,
    );
  }
}

/** Whether `select 1` answered before `giveUpAt`; rejects with the query's error if it failed sooner. */
async function answersBy(sql: Sql, giveUpAt: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((done) => {
    timer = setTimeout(done, Math.max(0, giveUpAt - Date.now()), false);
  });
  try {
    // A late query fails once the pool is ended; the race has already handled its rejection.
    return await Promise.race([sql`select 1`.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Refuses a database reached through a pooler in transaction or statement mode (PgBouncer's
 * `pool_mode = transaction`), where one client connection runs each transaction on whichever
 * server session is free. sluice needs its sessions: a process's advisory lock and its LISTEN
 * live on one, and through such a pooler the lock is seen on another client's session and missed
 * on its own, so live workers' tasks are reclaimed and run twice (measured: 120 runs of 100
 * ranges, three processes through PgBouncer 1.18). Deterministic without asking the pooler: a
 * reserved connection notes its server session, then another connection holds a transaction open
 * while the first asks again. Directly or in session mode the two sessions differ and the first
 * keeps its own; through a transaction pooler the second is handed the session the first just
 * let go (PgBouncer reuses the last one freed), or the first is moved to another. Needs a pool of
 * two; three round trips, once per open.
 */
export async function checkOwnSessions(sql: Sql, url: string): Promise<void> {
  const pinned = await sql.reserve();
  try {
    const backend = async (db: Sql | TransactionSql) =>
      (await db<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]?.pid;
    const first = await backend(pinned);
    const shared = await sql.begin(async (tx) => {
      const other = await backend(tx);
      const again = await backend(pinned);
      return other === first || again !== first;
    });
    if (shared) throw sessionPooled(url);
  } catch (error) {
    // In statement mode the pooler refuses the transaction itself.
    if (/statement pooling/i.test((error as Error).message ?? '')) throw sessionPooled(url);
    throw error;
  } finally {
    pinned.release();
  }
}

function sessionPooled(url: string): InputError {
  return new InputError(
    `The database at ${redactSecrets(url)} is reached through a pooler that shares server sessions between connections (PgBouncer's transaction or statement mode); sluice holds locks and LISTENs on sessions of its own: use PgBouncer's session mode (pool_mode = session) or connect to PostgreSQL directly`,
  );
}
